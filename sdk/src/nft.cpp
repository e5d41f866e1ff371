#include "waygate/nft.hpp"

#include <nftables/libnftables.h>

#include <memory>
#include <stdexcept>

namespace waygate {

std::string run_nft(const std::string& script) {
  // A context per script: its netlink socket is opened in the namespace the thread is in now,
  // which for a stage with a `netns` is not the process's.
  std::unique_ptr<nft_ctx, decltype(&nft_ctx_free)> ctx(nft_ctx_new(NFT_CTX_DEFAULT), &nft_ctx_free);
  if (!ctx) throw std::runtime_error("nft failed: cannot make an nftables context");
  if (nft_ctx_buffer_output(ctx.get()) != 0 || nft_ctx_buffer_error(ctx.get()) != 0)
    throw std::runtime_error("nft failed: cannot buffer nftables' output");
  const int rc = nft_run_cmd_from_buffer(ctx.get(), script.c_str());
  const char* out = nft_ctx_get_output_buffer(ctx.get());
  if (rc != 0) {
    std::string error = nft_ctx_get_error_buffer(ctx.get());
    while (!error.empty() && error.back() == '\n') error.pop_back();
    throw std::runtime_error("nft failed: " + (error.empty() ? "error " + std::to_string(rc) : error));
  }
  return out != nullptr ? out : "";
}

}  // namespace waygate
