#include "filter.hpp"

#include <stdexcept>

namespace waygate::egress {

namespace {

// What the accepting return says: keep up to this many bytes (all of any packet we can hold).
constexpr std::uint32_t kKeep = 0x40000;

// A classic BPF program written with symbolic jump targets, resolved when it is done: the
// programs' shapes depend on how many addresses there are.
class Assembler {
 public:
  enum Label : std::uint8_t { accept, reject, address_ok, ports, icmp, echo, next_address, count };

  void op(std::uint16_t code, std::uint32_t k) { code_.push_back(BPF_STMT(code, k)); }
  // A conditional jump: to `yes` if the test holds, else to `no` (kNext: the next instruction).
  void jump(std::uint16_t code, std::uint32_t k, int yes, int no) {
    fixups_.push_back({code_.size(), yes, no});
    code_.push_back(BPF_JUMP(BPF_JMP | code | BPF_K, k, 0, 0));
  }
  void always(int to) {
    fixups_.push_back({code_.size(), to, kNone});
    code_.push_back(BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0));
  }
  void mark(int label) { at_[static_cast<std::size_t>(label)] = code_.size(); }
  // Marks a label that is used again further on (next_address, once per address): the jumps
  // emitted so far go here, later ones to its next mark.
  void mark_here(int label) {
    mark(label);
    resolve(label);
  }

  std::vector<sock_filter> finish() {
    for (int l = 0; l < count; ++l) resolve(l);
    for (const auto& f : fixups_)  // labels are >= 0; a resolved one becomes kDone
      if (f.yes >= 0 || f.no >= 0) throw std::logic_error("filter: unresolved jump");
    return code_;
  }

  static constexpr int kNext = -1;
  static constexpr int kNone = -2;

 private:
  static constexpr int kDone = -3;
  struct Fixup {
    std::size_t at;
    int yes, no;
  };

  void set(Fixup& f, int& target, bool true_branch) {
    const std::size_t to = at_[static_cast<std::size_t>(target)];
    const std::size_t distance = to - f.at - 1;
    if (to <= f.at || (code_[f.at].code != (BPF_JMP | BPF_JA) && distance > 255))
      throw std::logic_error("filter: jump out of reach");
    sock_filter& ins = code_[f.at];
    if (ins.code == (BPF_JMP | BPF_JA)) ins.k = static_cast<std::uint32_t>(distance);
    else if (true_branch) ins.jt = static_cast<std::uint8_t>(distance);
    else ins.jf = static_cast<std::uint8_t>(distance);
    target = kDone;
  }

  void resolve(int label) {
    if (at_[static_cast<std::size_t>(label)] == kUnset) return;
    for (auto& f : fixups_) {
      if (f.yes == label) set(f, f.yes, true);
      if (f.no == label) set(f, f.no, false);
    }
    at_[static_cast<std::size_t>(label)] = kUnset;
  }

  static constexpr std::size_t kUnset = ~std::size_t{0};
  std::vector<sock_filter> code_;
  std::vector<Fixup> fixups_;
  std::size_t at_[count] = {kUnset, kUnset, kUnset, kUnset, kUnset, kUnset, kUnset};
};

using A = Assembler;

std::uint32_t be32(const std::uint8_t* b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
}

// A = the 16-bit word at X + offset; accept it if it is within the range.
void port_in_range(A& a, std::uint16_t load, std::uint32_t offset, PortRange ports) {
  a.op(load, offset);
  a.jump(BPF_JGE, ports.first, A::kNext, A::reject);
  a.jump(BPF_JGT, ports.last, A::reject, A::accept);
}

void finish(A& a) {
  a.mark(A::accept);
  a.op(BPF_RET | BPF_K, kKeep);
  a.mark(A::reject);
  a.op(BPF_RET | BPF_K, 0);
}

// IPv4: X = the header's length; on to `ports` for TCP and UDP, to `icmp` for ICMP, else reject.
void by_protocol4(A& a, std::uint32_t base) {
  a.op(BPF_LDX | BPF_B | BPF_MSH, base);
  a.op(BPF_LD | BPF_B | BPF_ABS, base + 9);  // protocol
  a.jump(BPF_JEQ, 6, A::ports, A::kNext);
  a.jump(BPF_JEQ, 17, A::ports, A::kNext);
  a.jump(BPF_JEQ, 1, A::icmp, A::reject);
}

// IPv6, the transport header right after the fixed one: the same by next header.
void by_next_header6(A& a, std::uint32_t base) {
  a.op(BPF_LD | BPF_B | BPF_ABS, base + 6);
  a.jump(BPF_JEQ, 6, A::ports, A::kNext);
  a.jump(BPF_JEQ, 17, A::ports, A::kNext);
  a.jump(BPF_JEQ, 58, A::icmp, A::reject);
}

// A = a port: the worker whose share holds it (PortRange::share_of), else the first.
void steer_by_port(A& a, PortRange ports, unsigned workers) {
  a.mark(A::accept);
  a.jump(BPF_JGE, ports.first, A::kNext, A::reject);
  a.jump(BPF_JGT, ports.last, A::reject, A::kNext);
  a.op(BPF_ALU | BPF_SUB | BPF_K, ports.first);
  a.op(BPF_ALU | BPF_MUL | BPF_K, workers);
  a.op(BPF_ALU | BPF_DIV | BPF_K, ports.size());
  a.op(BPF_RET | BPF_A, 0);
  a.mark(A::reject);
  a.op(BPF_RET | BPF_K, 0);
}

}  // namespace

std::vector<sock_filter> steer4(std::uint32_t base, PortRange ports, unsigned workers) {
  A a;
  by_protocol4(a, base);
  a.mark(A::ports);
  a.op(BPF_LD | BPF_H | BPF_IND, base + 2);  // destination port
  a.always(A::accept);
  a.mark(A::icmp);
  a.op(BPF_LD | BPF_B | BPF_IND, base);  // type
  a.jump(BPF_JEQ, 0, A::kNext, A::reject);  // an echo reply, by its identifier
  a.op(BPF_LD | BPF_H | BPF_IND, base + 4);
  steer_by_port(a, ports, workers);
  return a.finish();
}

std::vector<sock_filter> steer6(std::uint32_t base, PortRange ports, unsigned workers) {
  A a;
  by_next_header6(a, base);
  a.mark(A::ports);
  a.op(BPF_LD | BPF_H | BPF_ABS, base + 40 + 2);
  a.always(A::accept);
  a.mark(A::icmp);
  a.op(BPF_LD | BPF_B | BPF_ABS, base + 40);
  a.jump(BPF_JEQ, 129, A::kNext, A::reject);
  a.op(BPF_LD | BPF_H | BPF_ABS, base + 40 + 4);
  steer_by_port(a, ports, workers);
  return a.finish();
}

std::vector<sock_filter> filter4(std::uint32_t base, std::span<const Address4> egress, PortRange ports) {
  A a;
  a.op(BPF_LD | BPF_B | BPF_ABS, base);  // version
  a.op(BPF_ALU | BPF_AND | BPF_K, 0xf0);
  a.jump(BPF_JEQ, 0x40, A::kNext, A::reject);
  a.op(BPF_LD | BPF_W | BPF_ABS, base + 16);  // destination
  for (const auto& e : egress) a.jump(BPF_JEQ, be32(e.data()), A::address_ok, A::kNext);
  a.always(A::reject);

  a.mark(A::address_ok);
  a.op(BPF_LD | BPF_H | BPF_ABS, base + 6);  // a fragment after the first has no ports
  a.jump(BPF_JSET, 0x1fff, A::reject, A::kNext);
  by_protocol4(a, base);

  a.mark(A::ports);
  port_in_range(a, BPF_LD | BPF_H | BPF_IND, base + 2, ports);  // destination port

  a.mark(A::icmp);
  a.op(BPF_LD | BPF_B | BPF_IND, base);  // type
  a.jump(BPF_JEQ, 3, A::accept, A::kNext);   // destination unreachable
  a.jump(BPF_JEQ, 11, A::accept, A::kNext);  // time exceeded
  a.jump(BPF_JEQ, 12, A::accept, A::kNext);  // parameter problem
  a.jump(BPF_JEQ, 0, A::kNext, A::reject);   // echo reply: its identifier is the NAT's "port"
  port_in_range(a, BPF_LD | BPF_H | BPF_IND, base + 4, ports);
  finish(a);
  return a.finish();
}

std::vector<sock_filter> filter6(std::uint32_t base, std::span<const Address6> egress, PortRange ports) {
  A a;
  a.op(BPF_LD | BPF_B | BPF_ABS, base);
  a.op(BPF_ALU | BPF_AND | BPF_K, 0xf0);
  a.jump(BPF_JEQ, 0x60, A::kNext, A::reject);
  for (const auto& e : egress) {  // the destination, one 32-bit word at a time
    for (std::uint32_t w = 0; w < 4; ++w) {
      a.op(BPF_LD | BPF_W | BPF_ABS, base + 24 + 4 * w);
      a.jump(BPF_JEQ, be32(e.data() + 4 * w), w == 3 ? A::address_ok : A::kNext, A::next_address);
    }
    a.mark_here(A::next_address);
  }
  a.always(A::reject);

  a.mark(A::address_ok);
  by_next_header6(a, base);

  a.mark(A::ports);
  port_in_range(a, BPF_LD | BPF_H | BPF_ABS, base + 40 + 2, ports);

  a.mark(A::icmp);
  a.op(BPF_LD | BPF_B | BPF_ABS, base + 40);  // type
  a.jump(BPF_JEQ, 0, A::reject, A::kNext);
  a.jump(BPF_JGE, 5, A::kNext, A::accept);    // 1-4: unreachable, too big, time exceeded, parameter
  a.jump(BPF_JEQ, 129, A::kNext, A::reject);  // echo reply
  port_in_range(a, BPF_LD | BPF_H | BPF_ABS, base + 40 + 4, ports);
  finish(a);
  return a.finish();
}

}  // namespace waygate::egress
