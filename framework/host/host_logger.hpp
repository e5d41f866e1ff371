// Plugin log lines go to the host's spdlog logger, prefixed with the stage's name.
#pragma once

#include <memory>
#include <string>

#include "waygate/log.hpp"

namespace waygate {

std::unique_ptr<Logger> make_stage_logger(const std::string& stage);
// Applies "trace".."error" to the host's logger.
void set_log_level(const std::string& level);

}  // namespace waygate
