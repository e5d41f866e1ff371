#include <gtest/gtest.h>
TEST(Tun, Placeholder) {}
