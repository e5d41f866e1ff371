#!/usr/bin/env python3
"""Each stock plugin stands on the SDK alone.

    plugin_isolation.py TOP          checks TOP/plugins/*/ against TOP/sdk/include
    plugin_isolation.py --self-test  shows that it finds what it is meant to find

For every folder of plugins/, it refuses
  - an #include "..." that is neither the plugin's own file nor a public SDK header
    ("waygate/...", present in sdk/include): another plugin's header, a host header, an SDK
    source-tree header;
  - a target in its CMakeLists.txt that another plugin folder defines, or one of the host's
    (waygate_host, waygate_runtime, ...);
  - an include directory that leaves the folder.
Prints one line per finding and exits 1 if there is any, else prints what it checked.
"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)
DEFINED = re.compile(r'add_library\(\s*([A-Za-z0-9_.-]+)')
WORD = re.compile(r'[A-Za-z0-9_:.-]+')
HOST_TARGETS = {"waygate_host", "waygate_control", "waygate_runtime"}


def sources(folder):
    for root, _, files in os.walk(folder):
        for f in files:
            if f.endswith((".cpp", ".hpp", ".h", ".cc")):
                yield os.path.join(root, f)


def check(top):
    plugins_dir = os.path.join(top, "plugins")
    sdk_include = os.path.join(top, "sdk", "include")
    plugins = sorted(d for d in os.listdir(plugins_dir) if os.path.isdir(os.path.join(plugins_dir, d)))
    defined = {}  # target -> plugin folder defining it
    for p in plugins:
        cmake = os.path.join(plugins_dir, p, "CMakeLists.txt")
        if os.path.exists(cmake):
            for t in DEFINED.findall(open(cmake).read()):
                defined[t] = p
    findings = []
    for p in plugins:
        folder = os.path.join(plugins_dir, p)
        own = {os.path.relpath(f, folder) for f in sources(folder)}
        own_names = {os.path.basename(f) for f in own}
        for f in sources(folder):
            text = open(f, errors="replace").read()
            for inc in INCLUDE.findall(text):
                if inc.startswith("waygate/"):
                    if not os.path.exists(os.path.join(sdk_include, inc)):
                        findings.append(f"{os.path.relpath(f, top)}: includes {inc}, which the SDK does not have")
                    continue
                here = os.path.normpath(os.path.join(os.path.dirname(f), inc))
                if (here.startswith(folder + os.sep) and os.path.exists(here)) or inc in own or os.path.basename(inc) in own_names:
                    continue
                findings.append(f"{os.path.relpath(f, top)}: includes \"{inc}\", which is neither its plugin's nor the SDK's")
        cmake = os.path.join(folder, "CMakeLists.txt")
        if not os.path.exists(cmake):
            continue
        text = re.sub(r"#.*", "", open(cmake).read())
        for word in set(WORD.findall(text)):
            if defined.get(word, p) != p:
                findings.append(f"plugins/{p}/CMakeLists.txt: uses {word}, plugin {defined[word]}'s")
            elif word in HOST_TARGETS:
                findings.append(f"plugins/{p}/CMakeLists.txt: uses {word}, the host's")
        for m in re.finditer(r"target_include_directories\(([^)]*)\)", text):
            for part in m.group(1).split():
                if ".." in part or "PROJECT_SOURCE_DIR" in part or "CMAKE_SOURCE_DIR" in part:
                    findings.append(f"plugins/{p}/CMakeLists.txt: include directory {part} leaves the folder")
    return plugins, findings


def self_test():
    with tempfile.TemporaryDirectory() as top:
        def write(path, text):
            full = os.path.join(top, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            open(full, "w").write(text)
        write("sdk/include/waygate/plugin.hpp", "")
        write("plugins/a/a.cpp", '#include "a.hpp"\n#include "waygate/plugin.hpp"\n#include "b.hpp"\n#include "waygate/nope.hpp"\n')
        write("plugins/a/a.hpp", "")
        write("plugins/a/CMakeLists.txt", "add_library(a_core a.cpp)\ntarget_link_libraries(a_core b_core waygate_host)\n"
                                          "target_include_directories(a_core PRIVATE ../b)\n")
        write("plugins/b/b.hpp", "")
        write("plugins/b/CMakeLists.txt", "add_library(b_core b.cpp)  # a_core is not used here\n")
        _, findings = check(top)
        expected = ['includes "b.hpp"', "waygate/nope.hpp", "uses b_core", "uses waygate_host", "include directory ../b"]
        missing = [e for e in expected if not any(e in f for f in findings)]
        if missing or len(findings) != len(expected):
            print("self-test: expected findings about", expected, "got", findings)
            return 1
        print(f"self-test: the {len(findings)} planted violations are found, nothing else")
        return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    plugins, findings = check(sys.argv[1])
    for f in findings:
        print(f)
    if findings:
        return 1
    print(f"{len(plugins)} plugins, each including and linking only its own code and the SDK's: {', '.join(plugins)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
