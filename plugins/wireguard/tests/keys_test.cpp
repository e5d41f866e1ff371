#include "keys.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace waygate::wg {
namespace {

Key hex_key(const std::string& hex) {
  Key key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  return key;
}

// RFC 7748, section 6.1 (X25519 Diffie-Hellman): Alice's private key and her public key, the
// raw 32 bytes that WireGuard keys are.
const Key kAlicePrivate = hex_key("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
const Key kAlicePublic = hex_key("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
// The same section's Bob, for a second pair.
const Key kBobPrivate = hex_key("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
const Key kBobPublic = hex_key("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");

struct Captured {
  int code = -1;
  std::string out;
  std::string err;
};

std::string read_all(std::FILE* file) {
  std::string text;
  std::rewind(file);
  char buffer[512];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  return text;
}

// Runs a command with `input` on stdin and stdout/stderr captured (argv[0] is the command name,
// as the host passes it). No gtest assertions while the descriptors are redirected.
Captured run(int (*command)(int, char**), const std::string& input, std::vector<std::string> args = {"cmd"}) {
  std::FILE* in = std::tmpfile();
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  if (in == nullptr || out == nullptr || err == nullptr) throw std::runtime_error("tmpfile failed");
  std::fwrite(input.data(), 1, input.size(), in);
  std::fflush(in);
  std::rewind(in);
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  std::fflush(stdout);
  std::fflush(stderr);
  const int saved[3] = {::dup(0), ::dup(1), ::dup(2)};
  ::dup2(::fileno(in), 0);
  ::dup2(::fileno(out), 1);
  ::dup2(::fileno(err), 2);
  Captured result;
  result.code = command(static_cast<int>(args.size()), argv.data());
  std::fflush(stdout);
  std::fflush(stderr);
  for (int fd = 0; fd < 3; ++fd) {
    ::dup2(saved[fd], fd);
    ::close(saved[fd]);
  }
  result.out = read_all(out);
  result.err = read_all(err);
  std::fclose(in);
  std::fclose(out);
  std::fclose(err);
  return result;
}

// A private directory for key files, removed afterwards.
class KeysFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "waygate-keys-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content, mode_t mode) {
    const std::string path = (dir_ / name).string();
    {
      std::ofstream file(path, std::ios::binary);
      file << content;
    }
    ::chmod(path.c_str(), mode);
    return path;
  }

  // The message read_key_file throws, or "" if it does not.
  static std::string error_of(const std::string& path) {
    try {
      read_key_file(path);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  }

  std::filesystem::path dir_;
};

// ---- base64 ----

TEST(KeysBase64, RoundTrip) {
  Key key{};
  for (int round = 0; round < 200; ++round) {
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(round * 31 + i * 7 + (i * i) % 13);
    const std::string text = to_base64(key);
    ASSERT_EQ(text.size(), 44u);
    ASSERT_EQ(text.back(), '=');
    const auto back = from_base64(text);
    ASSERT_TRUE(back.has_value()) << text;
    ASSERT_EQ(*back, key);
  }
}

TEST(KeysBase64, KnownEncodings) {
  EXPECT_EQ(to_base64(Key{}), std::string(43, 'A') + "=");
  Key ones;
  ones.fill(0xff);
  EXPECT_EQ(to_base64(ones), std::string(42, '/') + "8=");
  // RFC 7748's Alice, as `wg` writes her private key.
  EXPECT_EQ(to_base64(kAlicePrivate), "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=");
  EXPECT_EQ(from_base64("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="), kAlicePrivate);
}

TEST(KeysBase64, SurroundingWhitespaceIsIgnored) {
  const std::string text = to_base64(kAlicePublic);
  EXPECT_EQ(from_base64(text + "\n"), kAlicePublic);
  EXPECT_EQ(from_base64(text + "\r\n"), kAlicePublic);
  EXPECT_EQ(from_base64("  \t" + text + " \n\n"), kAlicePublic);
}

TEST(KeysBase64, InvalidTextIsRefused) {
  const std::string good = to_base64(kAlicePrivate);  // ...LCo=
  std::vector<std::string> bad = {
      "",
      "\n",
      good.substr(0, 43),                          // no padding
      good.substr(0, 42) + "=",                    // short
      good + "=",                                  // 45 characters
      good + "A",                                  // a trailing character
      good + good,                                 // two keys
      good.substr(0, 43) + "A",                    // 44 characters without padding (33 bytes)
      good.substr(0, 41) + "A==",                  // 44 characters for 31 bytes
      good.substr(0, 20) + "*" + good.substr(21),  // outside the alphabet
      good.substr(0, 20) + "-" + good.substr(21),  // the URL-safe alphabet
      good.substr(0, 20) + "_" + good.substr(21),
      good.substr(0, 20) + " " + good.substr(21),  // an inner space
      good.substr(0, 20) + "=" + good.substr(21),  // padding inside
      std::string(44, '='),
  };
  // Non-zero unused bits in the last character ('o' -> 'p'): a second spelling of nearly the
  // same bytes, refused as wg does, so that each key has exactly one text.
  std::string loose = good;
  ASSERT_EQ(loose[42], 'o');
  loose[42] = 'p';
  bad.push_back(loose);
  for (const auto& text : bad) EXPECT_FALSE(from_base64(text).has_value()) << '"' << text << '"';
}

// ---- the commands ----

TEST(KeysCommands, PubkeyOfRfc7748Alice) {
  // RFC 7748 section 6.1: Alice's public key is X25519(a, 9).
  const Captured r = run(&pubkey_command, to_base64(kAlicePrivate) + "\n", {"pubkey"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, to_base64(kAlicePublic) + "\n");
  EXPECT_EQ(r.err, "");
  const Captured bob = run(&pubkey_command, to_base64(kBobPrivate), {"pubkey"});  // no newline: fine too
  EXPECT_EQ(bob.code, 0) << bob.err;
  EXPECT_EQ(bob.out, to_base64(kBobPublic) + "\n");
}

TEST(KeysCommands, PubkeyRefusesBadInput) {
  const std::string good = to_base64(kAlicePrivate);
  for (const std::string& input : {std::string(), std::string("\n"), std::string("not a key\n"), good.substr(0, 43) + "\n",
                                  good + "x\n", good + "\n" + good + "\n", std::string(5000, 'A')}) {
    const Captured r = run(&pubkey_command, input, {"pubkey"});
    EXPECT_EQ(r.code, 1) << '"' << input << '"';
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "pubkey: invalid private key on stdin\n");
  }
}

TEST(KeysCommands, GenkeyPrintsAClampedKey) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    const Captured r = run(&genkey_command, "", {"genkey"});
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_EQ(r.out.size(), 45u);
    ASSERT_EQ(r.out.back(), '\n');
    const auto key = from_base64(r.out);
    ASSERT_TRUE(key.has_value()) << r.out;
    EXPECT_EQ((*key)[0] & 7, 0);
    EXPECT_EQ((*key)[31] & 0x80, 0);
    EXPECT_EQ((*key)[31] & 0x40, 0x40);
    seen.insert(r.out);
    // And its public key comes out of pubkey.
    const Captured pub = run(&pubkey_command, r.out, {"pubkey"});
    EXPECT_EQ(pub.code, 0);
    EXPECT_TRUE(from_base64(pub.out).has_value());
  }
  EXPECT_EQ(seen.size(), 20u);
}

TEST(KeysCommands, GenpskPrintsRandomBytes) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    const Captured r = run(&genpsk_command, "", {"genpsk"});
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_EQ(r.out.size(), 45u);
    EXPECT_TRUE(from_base64(r.out).has_value());
    seen.insert(r.out);
  }
  EXPECT_EQ(seen.size(), 20u);
}

TEST(KeysCommands, ExtraArgumentsAreAUsageError) {
  for (auto command : {&genkey_command, &pubkey_command, &genpsk_command}) {
    const Captured r = run(command, to_base64(kAlicePrivate), {"cmd", "extra"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("Usage: waygate"), std::string::npos) << r.err;
  }
}

// ---- key files ----

TEST_F(KeysFile, Mode0600IsAccepted) {
  const std::string path = write("private.key", to_base64(kAlicePrivate) + "\n", 0600);
  EXPECT_EQ(read_key_file(path), kAlicePrivate);
  const std::string bare = write("bare.key", to_base64(kBobPrivate), 0400);
  EXPECT_EQ(read_key_file(bare), kBobPrivate);
  const std::string crlf = write("crlf.key", to_base64(kBobPrivate) + "\r\n", 0600);
  EXPECT_EQ(read_key_file(crlf), kBobPrivate);
}

TEST_F(KeysFile, GroupOrOtherAccessIsRefused) {
  for (mode_t mode : {0644, 0640, 0604, 0660, 0602, 0620, 0601, 0610}) {
    char name[32];
    std::snprintf(name, sizeof name, "key-%04o", static_cast<unsigned>(mode));
    const std::string path = write(name, to_base64(kAlicePrivate) + "\n", mode);
    const std::string message = error_of(path);
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(std::string("mode ") + (name + 4)), std::string::npos) << message;
    EXPECT_NE(message.find("chmod 600 " + path), std::string::npos) << message;
    // The key itself never appears in the message.
    EXPECT_EQ(message.find(to_base64(kAlicePrivate)), std::string::npos) << message;
  }
}

TEST_F(KeysFile, MissingFileIsNamed) {
  const std::string path = (dir_ / "missing.key").string();
  const std::string message = error_of(path);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("No such file"), std::string::npos) << message;
}

TEST_F(KeysFile, EmptyOrGarbageContentIsRefused) {
  const std::string good = to_base64(kAlicePrivate);
  const std::vector<std::pair<std::string, std::string>> files = {
      {"empty.key", ""},
      {"blank.key", "\n \n"},
      {"garbage.key", "this is not a key\n"},
      {"short.key", good.substr(0, 40) + "\n"},
      {"two.key", good + "\n" + good + "\n"},
      {"comment.key", "# my key\n" + good + "\n"},
      {"big.key", std::string(10000, 'A')},
  };
  for (const auto& [name, content] : files) {
    const std::string path = write(name, content, 0600);
    const std::string message = error_of(path);
    EXPECT_NE(message.find(path), std::string::npos) << name << ": " << message;
  }
  EXPECT_NE(error_of((dir_ / "empty.key").string()).find("empty"), std::string::npos);
}

TEST_F(KeysFile, DirectoryIsRefused) {
  std::filesystem::create_directory(dir_ / "sub");
  ::chmod((dir_ / "sub").c_str(), 0700);
  const std::string message = error_of((dir_ / "sub").string());
  EXPECT_NE(message.find((dir_ / "sub").string()), std::string::npos) << message;
}

// ---- against the real wg ----

bool have_wg() { return std::system("command -v wg >/dev/null 2>&1") == 0; }

// The first line a shell command prints.
std::string shell_line(const std::string& command) {
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  char buffer[256] = {};
  std::string line;
  if (std::fgets(buffer, sizeof buffer, pipe) != nullptr) line = buffer;
  ::pclose(pipe);
  return line;
}

TEST(KeysAgainstWg, PubkeyMatchesWgPubkey) {
  if (!have_wg()) GTEST_SKIP() << "wg (wireguard-tools) not found";
  // Ours generated, both derived.
  for (int i = 0; i < 10; ++i) {
    const Captured ours = run(&genkey_command, "", {"genkey"});
    ASSERT_EQ(ours.code, 0);
    const std::string private_key = ours.out.substr(0, 44);  // base64 only: safe in single quotes
    const std::string theirs = shell_line("printf '%s\\n' '" + private_key + "' | wg pubkey");
    const Captured pub = run(&pubkey_command, ours.out, {"pubkey"});
    EXPECT_EQ(pub.out, theirs) << private_key;
  }
  // Theirs generated, both derived.
  for (int i = 0; i < 10; ++i) {
    const std::string private_key = shell_line("wg genkey");
    ASSERT_EQ(private_key.size(), 45u) << private_key;
    const std::string theirs = shell_line("printf '%s\\n' '" + private_key.substr(0, 44) + "' | wg pubkey");
    const Captured pub = run(&pubkey_command, private_key, {"pubkey"});
    EXPECT_EQ(pub.code, 0);
    EXPECT_EQ(pub.out, theirs) << private_key;
  }
  // And RFC 7748's Alice.
  EXPECT_EQ(shell_line("printf '%s\\n' '" + to_base64(kAlicePrivate) + "' | wg pubkey"), to_base64(kAlicePublic) + "\n");
}

}  // namespace
}  // namespace waygate::wg
