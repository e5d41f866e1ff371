// A shared object that is not a Waygate plugin: it exports no "waygate_plugin".
extern "C" __attribute__((visibility("default"))) int not_a_plugin() { return 42; }
