// The copy of etcd's directory kept in the state folder (directory.toml), read when etcd does not
// answer: a copy from before versions is read, one written now carries its header, and one from a
// newer format is refused and left as it was.
#include <gtest/gtest.h>

#include <fstream>

#include "etcd_directory.hpp"
#include "host_config.hpp"
#include "waygate/testing/scratch_folder.hpp"

namespace waygate {
namespace {

// Nothing listens on port 1: etcd "does not answer", at once.
struct Connector : testing::ScratchFolder {
  Connector() : ScratchFolder("etcd-directory-test") {}
  HostConfig config() const {
    return parse_host_config("[host]\nstate_dir = '" + path().string() +
                                 "'\n[directory]\netcd = ['http://127.0.0.1:1']\nconnector = 'connector-1'\n"
                                 "[[stage]]\nname = 'inside'\nplugin = 'tun'\n",
                             "c.toml");
  }
  std::string copy() const { return file("directory.toml"); }
};

const char* kDirectory = "[[socket]]\nname = 'corporate-exit'\ntype = 'exit_node'\n";

using testing::read_text;

TEST(EtcdDirectoryCopy, ACopyFromBeforeVersionsIsRead) {
  Connector c;
  std::ofstream(c.copy()) << "# the directory from etcd at revision 42\n" << kDirectory;
  HostConfig config = c.config();
  load_directory(config, nullptr, Claims::none);
  EXPECT_EQ(config.directory_revision, 42);
  ASSERT_EQ(config.directory->sockets.size(), 1u);
  EXPECT_EQ(config.directory->sockets[0].name, "corporate-exit");
  EXPECT_EQ(config.directory_text, kDirectory);
}

TEST(EtcdDirectoryCopy, IsKeptUnderAHeaderAndReadBack) {
  Connector c;
  HostConfig running = c.config();
  running.directory_revision = 42;
  running.directory_text = kDirectory;
  keep_directory(running);
  EXPECT_EQ(read_text(c.copy()), std::string("# waygate directory-copy 1\n# the directory from etcd at revision 42\n") + kDirectory);

  HostConfig config = c.config();
  load_directory(config, nullptr, Claims::none);
  EXPECT_EQ(config.directory_revision, 42);
  EXPECT_EQ(config.directory_text, kDirectory);
  ASSERT_EQ(config.directory->sockets.size(), 1u);
}

TEST(EtcdDirectoryCopy, ANewerFormatIsRefusedAndLeftAsItWas) {
  Connector c;
  const std::string newer = std::string("# waygate directory-copy 2\nrevision = 42\n") + kDirectory;
  std::ofstream(c.copy()) << newer;
  HostConfig config = c.config();
  try {
    load_directory(config, nullptr, Claims::none);
    FAIL() << "a newer format was read";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(c.copy() + ": directory-copy state format 2, but this waygate reads up to 1"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(read_text(c.copy()), newer);
}

}  // namespace
}  // namespace waygate
