// The workers' inbox on its own: copies, order, a full inbox refusing, one wake-up a turn.
#include <gtest/gtest.h>

#include <string>

#include "handover.hpp"
#include "waygate/pool.hpp"

namespace {

waygate::Packet* packet(waygate::Pool& pool, const std::string& bytes) {
  waygate::Packet* p = pool.alloc();
  p->resize(bytes.size());
  std::copy(bytes.begin(), bytes.end(), p->data());
  p->meta.peer = 42;
  return p;
}

TEST(Handover, CopiesInOrderRefusesWhenFullAndRingsOnceATurn) {
  waygate::Pool pool(8, 2048, 128);
  waygate::Handover handover(3, /*capacity=*/2);
  int rung[3] = {0, 0, 0};
  for (unsigned i = 0; i < 3; ++i) handover.set_bell(i, [&rung, i] { ++rung[i]; });

  waygate::Packet* a = packet(pool, "first");
  waygate::Packet* b = packet(pool, "second");
  EXPECT_TRUE(handover.post(0, 2, 4, 99, 7, *a));
  a->resize(0);  // the inbox holds a copy: the packet is the caller's again at once
  EXPECT_TRUE(handover.post(0, 2, 4, 99, 8, *b));
  EXPECT_FALSE(handover.post(0, 2, 4, 99, 9, *b)) << "a full inbox refuses";
  EXPECT_FALSE(handover.post(0, 0, 4, 99, 9, *b)) << "nobody hands to itself";
  EXPECT_FALSE(handover.post(0, 3, 4, 99, 9, *b)) << "nor to a worker that does not exist";
  EXPECT_EQ(rung[2], 0) << "posting wakes nobody: the poster's turn ends first";

  handover.ring(0);
  handover.ring(0);
  EXPECT_EQ(rung[2], 1);
  EXPECT_EQ(rung[0] + rung[1], 0);

  std::string seen;
  handover.take(2, [&](const waygate::Handover::Item& item) {
    EXPECT_EQ(item.stage, 4u);
    EXPECT_EQ(item.name, 99u);
    EXPECT_EQ(item.meta.peer, 42u);
    seen += std::to_string(item.tag) + std::string(item.bytes.begin(), item.bytes.end()) + ";";
  });
  EXPECT_EQ(seen, "7first;8second;");
  handover.take(2, [&](const waygate::Handover::Item&) { ADD_FAILURE() << "taken twice"; });
  EXPECT_TRUE(handover.post(1, 2, 4, 99, 7, *a)) << "room again once taken";
  pool.free(a);
  pool.free(b);
}

}  // namespace
