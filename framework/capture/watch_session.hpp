// A capture or a trace of a running connector, as the command line runs it: started through the
// connector's admin API (POST), read every 200 ms until it is done, and ended (DELETE) on Ctrl-C
// or SIGTERM, so that what it held is still read.
#pragma once

#include <functional>
#include <string>

#include <boost/json/value.hpp>

namespace waygate {

// `path`: "/v1/capture" or "/v1/trace"; `ask`: the POST's body. `take` sees each read's answer
// and says whether it has had enough (its --count: with more than one worker each counts its own),
// and it is ended then. Returns the last answer (its "state" is "done"). Throws
// std::runtime_error with the connector's own words when it refuses.
boost::json::value run_watch(const std::string& config_file, const std::string& path, const std::string& ask,
                             const std::function<bool(const boost::json::value&)>& take);

}  // namespace waygate
