// A real GoogleTest producer for the result parser tests: one passing, one failing, one
// skipped and one disabled test. Not a test of jostle itself; the parser tests run it with
// --gtest_output=xml:FILE and parse what it writes.
#include <gtest/gtest.h>

TEST(SampleSuite, Passes) { EXPECT_EQ(2, 1 + 1); }

TEST(SampleSuite, Fails) { EXPECT_EQ(3, 1 + 1) << "arithmetic is broken"; }

TEST(SampleSuite, Skipped) { GTEST_SKIP() << "needs a GPU"; }

TEST(SampleSuite, DISABLED_NotRun) {}

TEST(OtherSuite, AlsoPasses) { SUCCEED(); }
