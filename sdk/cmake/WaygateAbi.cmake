# The SDK's ABI version, derived from its public headers: the first 32 bits of a SHA-256 over
# every header under include/waygate (path and text, comments and runs of white space left out,
# abi.hpp itself aside). Any change to what a plugin compiles against (a type's layout, a virtual
# function, an inline helper) is a new version, and the host refuses a plugin built against
# another; a comment or a reflowed line is not. Nobody bumps it by hand, so nobody forgets.
#
#   waygate_abi_version(<var> <include dir>)   sets <var> to 8 hex digits
#   cmake -DINCLUDE=<dir> -P WaygateAbi.cmake  prints them (tests/unit/abi_version_test.sh)
function(waygate_abi_version out include_dir)
  file(GLOB_RECURSE headers RELATIVE ${include_dir} ${include_dir}/waygate/*.hpp)
  list(SORT headers)
  list(REMOVE_ITEM headers waygate/abi.hpp waygate/abi_version.hpp)
  set(all "")
  foreach(h ${headers})
    file(READ ${include_dir}/${h} text)
    string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" " " text "${text}")  # /* ... */
    string(REGEX REPLACE "//[^\n]*" " " text "${text}")                      # // ...
    string(REGEX REPLACE "[ \t\r\n]+" " " text "${text}")
    string(APPEND all "${h}\n${text}\n")
  endforeach()
  string(SHA256 hash "${all}")
  string(SUBSTRING ${hash} 0 8 version)
  set(${out} ${version} PARENT_SCOPE)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE AND INCLUDE)
  waygate_abi_version(version ${INCLUDE})
  message("${version}")
endif()
