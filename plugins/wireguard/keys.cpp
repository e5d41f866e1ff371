#include "keys.hpp"

#include "waygate/secret.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace waygate::wg {
namespace {

constexpr std::size_t kBase64Size = 44;  // 32 bytes: 43 characters and one '=' of padding
static_assert(sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL) == kBase64Size + 1);

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// libsodium must be initialised before its random generator is used; sodium_init() may be
// called any number of times, from any thread.
void init_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

// Up to `limit` bytes of fd; more than that (a key is 44 characters) counts as garbage, so a
// wrong file does not get read whole. Returns false with errno set on a read error.
bool read_some(int fd, std::string& out, std::size_t limit) {
  char buffer[256];
  while (out.size() <= limit) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      sodium_memzero(buffer, sizeof buffer);
      return false;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  sodium_memzero(buffer, sizeof buffer);
  return true;
}

void wipe_string(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

// Like wg, only a warning: a private key written to a regular file that others may read is the
// caller's mistake to fix (umask 077), and terminals and pipes are none of our business.
void warn_if_world_accessible(const char* command) {
  struct stat st {};
  if (::fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO) != 0)
    std::fprintf(stderr,
                 "%s: warning: writing to a file that others can access; consider `umask 077` first\n",
                 command);
}

int usage(const char* command) {
  std::fprintf(stderr, "Usage: waygate %s\n", command);
  return 1;
}

int print_key(const Key& key) {
  std::string text = to_base64(key);
  text += '\n';
  const bool ok = std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0;
  wipe_string(text);
  if (!ok) {
    std::fprintf(stderr, "waygate: cannot write the key: %s\n", std::strerror(errno));
    return 1;
  }
  return 0;
}

// genkey and genpsk: 32 random bytes, clamped into a Curve25519 private key for genkey.
int random_key_command(int argc, bool clamp) {
  const char* name = clamp ? "genkey" : "genpsk";
  if (argc > 1) return usage(name);
  init_sodium();
  warn_if_world_accessible(name);
  Key key{};
  randombytes_buf(key.data(), key.size());
  if (clamp) {
    key[0] &= 248;
    key[31] &= 127;
    key[31] |= 64;
  }
  const int code = print_key(key);
  sodium_memzero(key.data(), key.size());
  return code;
}

}  // namespace

std::string to_base64(const Key& key) {
  char text[kBase64Size + 1];
  sodium_bin2base64(text, sizeof text, key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  return std::string(text, kBase64Size);
}

std::optional<Key> from_base64(std::string_view text) {
  text = trim(text);
  if (text.size() != kBase64Size) return std::nullopt;
  Key key{};
  std::size_t size = 0;
  const char* end = nullptr;
  // libsodium refuses characters outside the alphabet, missing padding and non-zero unused bits
  // in the last character, so exactly one text decodes to each key, as with wg.
  if (sodium_base642bin(key.data(), key.size(), text.data(), text.size(), nullptr, &size, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      size != key.size() || end != text.data() + text.size()) {
    sodium_memzero(key.data(), key.size());
    return std::nullopt;
  }
  return key;
}

Key read_key_file(const std::string& path) {
  std::string content = read_secret_file(path, "key file", 4096);
  const std::optional<Key> key = from_base64(content);
  waygate::wipe(content);
  if (!key)
    throw std::runtime_error("key file " + path +
                             " does not hold a key: expected 44 characters of base64, as `wg genkey` prints");
  return *key;
}

// The commands write keys to stdout and leave where it goes to the caller, as wg does: a
// terminal or a pipe is fine, and for a file the umask decides its mode (`umask 077` before
// `waygate genkey > private.key`), we only warn when others can access the file.
int genkey_command(int argc, char** /*argv*/) { return random_key_command(argc, true); }

int genpsk_command(int argc, char** /*argv*/) { return random_key_command(argc, false); }

int pubkey_command(int argc, char** /*argv*/) {
  if (argc > 1) return usage("pubkey");
  init_sodium();
  std::string input;
  const bool ok = read_some(STDIN_FILENO, input, 1024);
  std::optional<Key> private_key = ok ? from_base64(input) : std::nullopt;
  wipe_string(input);
  if (!private_key) {
    std::fprintf(stderr, "pubkey: invalid private key on stdin\n");
    return 1;
  }
  // X25519 clamps the scalar itself, so an unclamped private key gives the same result as in wg.
  Key public_key{};
  const int failed = crypto_scalarmult_base(public_key.data(), private_key->data());
  sodium_memzero(private_key->data(), private_key->size());
  if (failed != 0) {
    std::fprintf(stderr, "pubkey: invalid private key on stdin\n");
    return 1;
  }
  return print_key(public_key);
}

}  // namespace waygate::wg
