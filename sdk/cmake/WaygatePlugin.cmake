# waygate_add_plugin(<name> <sources>...): builds waygate-<name>.so, the file the host loads for
# `plugin = "<name>"`. The same function serves stock plugins in this tree and third-party plugins
# built against the installed SDK (find_package(Waygate)).
function(waygate_add_plugin name)
  add_library(waygate-${name} MODULE ${ARGN})
  target_link_libraries(waygate-${name} PRIVATE Waygate::sdk)
  set_target_properties(waygate-${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(WAYGATE_PLUGIN_OUTPUT_DIR)
    set_target_properties(waygate-${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${WAYGATE_PLUGIN_OUTPUT_DIR})
  endif()
  # A plugin must not leave symbols for the host to supply: fail at link time, not at load time.
  # Only the registrations (waygate_plugin, waygate_commands, waygate_doctor) leave the object:
  # the SDK library linked in stays private to it.
  target_link_options(waygate-${name} PRIVATE -Wl,--no-undefined -Wl,--exclude-libs,ALL)
endfunction()
