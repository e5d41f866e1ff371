// `waygate directory push|pull|diff`: the directory in etcd, for the connectors that read it there.
//   push -c FILE --etcd URL[,URL...] [--prefix /waygate/] [--base REVISION]
//        checks FILE's directory as a connector would and writes it in one transaction, refused if
//        anything under the prefix was written after the revision it read (or after --base, the
//        revision a pull printed: no lost update between two admins)
//   pull --etcd URL... [--prefix P]   the directory in etcd as TOML, headed by its revision
//   diff -c FILE --etcd URL... [--prefix P]   what a push would change
#pragma once

namespace waygate {

int directory_command(int argc, char** argv);

}  // namespace waygate
