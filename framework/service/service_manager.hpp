// What the host tells the service manager that started it (systemd's Type=notify protocol):
// READY=1 once the pipeline runs, RELOADING=1 then READY=1 around a reload, STOPPING=1, a STATUS
// line an operator sees in `systemctl status`, and WATCHDOG=1 while the host is alive. Run any
// other way ($NOTIFY_SOCKET unset) each of these does nothing.
#pragma once

#include <chrono>
#include <string_view>

namespace waygate::service {

void ready(std::string_view status);
void reloading();
void stopping();
void status(std::string_view text);

// How often systemd wants to hear WATCHDOG=1 from this process ($WATCHDOG_USEC, when
// $WATCHDOG_PID is absent or names it); zero when it does not.
std::chrono::microseconds watchdog_interval();
void watchdog();

}  // namespace waygate::service
