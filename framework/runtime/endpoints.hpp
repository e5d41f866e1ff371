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
  void add(Listener listener, std::string path, std::string stage, Handler handler) {
    auto [it, fresh] = routes_.try_emplace({listener, path}, Route{stage, std::move(handler)});
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
  };
  std::map<std::pair<Listener, std::string>, Route> routes_;
};

}  // namespace waygate
