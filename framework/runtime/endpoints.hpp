// The HTTP endpoints the stages of one pipeline (or one rig) serve, by listener and path. The
// host's control plane hands each request to the worker, which looks it up here.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "waygate/api.hpp"

namespace waygate {

class Endpoints {
 public:
  void add(Listener listener, std::string path, std::string stage, Handler handler, Gather gather = {}) {
    auto [it, fresh] = routes_.try_emplace({listener, path}, Route{stage, std::move(handler), std::move(gather)});
    if (!fresh)
      throw std::invalid_argument("stage '" + stage + "' asks to serve " + path +
                                  ", which stage '" + it->second.stage + "' serves already");
  }
  // nullopt: nobody serves this path on this listener.
  std::optional<Response> handle(Listener listener, const Request& request) const {
    auto it = routes_.find({listener, request.path});
    if (it == routes_.end()) return std::nullopt;
    return it->second.handler(request);
  }
  // How the path's answers from every worker make one (empty: the first worker's alone), and the
  // stage that serves it.
  std::pair<Gather, std::string> gather(Listener listener, const std::string& path) const {
    auto it = routes_.find({listener, path});
    return it == routes_.end() ? std::pair<Gather, std::string>{} : std::pair{it->second.gather, it->second.stage};
  }
  void remove_stage(const std::string& stage) {
    std::erase_if(routes_, [&](const auto& r) { return r.second.stage == stage; });
  }
  // A stage that moves to another pipeline takes what it serves along.
  void take_stage(Endpoints& from, const std::string& stage) {
    for (auto it = from.routes_.begin(); it != from.routes_.end();) {
      if (it->second.stage != stage) {
        ++it;
        continue;
      }
      routes_.insert(from.routes_.extract(it++));
    }
  }

 private:
  struct Route {
    std::string stage;
    Handler handler;
    Gather gather;
  };
  std::map<std::pair<Listener, std::string>, Route> routes_;
};

}  // namespace waygate
