# The Debian packages, made by `cpack` in the build folder (CPack's DEB generator):
#   waygate          the host, the stock plugins, the systemd units, the configs (the two in
#                    /etc/waygate are conffiles: an edited one survives an upgrade), the examples
#   waygate-sdk-dev  the SDK alone for plugin authors: headers, libraries, the rig, CMake package
# Shared libraries the binaries link become Depends through dpkg-shlibdeps, so `apt install
# ./waygate_*.deb` pulls in what a fresh machine lacks.
set(top ${CMAKE_CURRENT_LIST_DIR}/../..)

install(DIRECTORY DESTINATION /etc/waygate COMPONENT waygate)
install(FILES ${top}/configs/exit-node.toml ${top}/configs/client.toml DESTINATION /etc/waygate COMPONENT waygate)
install(FILES ${top}/configs/systemd/waygate@.service ${top}/configs/systemd/waygate-client@.service
  DESTINATION /lib/systemd/system COMPONENT waygate)
install(FILES ${top}/configs/README.md ${top}/configs/exit-node.toml ${top}/configs/client.toml ${top}/configs/wire.toml
  DESTINATION share/waygate/examples COMPONENT waygate)
install(DIRECTORY ${top}/examples/pair DESTINATION share/waygate/examples COMPONENT waygate USE_SOURCE_PERMISSIONS)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME waygate)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
set(CPACK_PACKAGE_CONTACT "Waygate developers <waygate-dev@example.org>")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL waygate sdk)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_STRIP_FILES ON)
# Upgrades compare versions with epochs and revisions as dpkg does: 0.1.0-1 < 0.1.0-2 < 0.1.1-1.

set(CPACK_DEBIAN_WAYGATE_PACKAGE_NAME waygate)
set(CPACK_COMPONENT_WAYGATE_DESCRIPTION "plugin-based modular router: a self-hosted VPN exit node
One host process, waygate, reads a TOML file and runs a pipeline of plugins (WireGuard
transport, policy, NAT, statistics, device I/O) on an io_uring data plane. Stock WireGuard
clients connect to its exit nodes. waygate@NAME.service runs /etc/waygate/NAME.toml.")
set(CPACK_DEBIAN_WAYGATE_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_WAYGATE_PACKAGE_DEPENDS "adduser")  # postinst; the libraries are added to it
set(CPACK_DEBIAN_WAYGATE_PACKAGE_SUGGESTS "keepalived, etcd-client, wireguard-tools")
set(CPACK_DEBIAN_WAYGATE_PACKAGE_CONTROL_EXTRA
  ${top}/configs/debian/conffiles ${top}/configs/debian/postinst ${top}/configs/debian/prerm ${top}/configs/debian/postrm)
set(CPACK_DEBIAN_WAYGATE_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_SDK_PACKAGE_NAME waygate-sdk-dev)
set(CPACK_DEBIAN_SDK_PACKAGE_ARCHITECTURE amd64)
set(CPACK_COMPONENT_SDK_DESCRIPTION "Waygate SDK: build and test plugins for the waygate host
The public plugin contract (headers), its static libraries, the test rig that runs a plugin with
no host, TUN or root, and the CMake package (find_package(Waygate), waygate_add_plugin).")
# What WaygateConfig.cmake finds, and the toolchain a plugin is built with.
set(CPACK_DEBIAN_SDK_PACKAGE_DEPENDS "g++ (>= 4:12), cmake (>= 3.25), pkg-config, libboost1.81-dev, libboost-json1.81-dev, \
libfmt-dev, libtomlplusplus-dev, libhowardhinnant-date-dev, libssl-dev (>= 3), libnftables-dev, libnl-route-3-dev")
set(CPACK_DEBIAN_SDK_PACKAGE_SUGGESTS "waygate (= ${PROJECT_VERSION}-1), libgtest-dev")

include(CPack)
