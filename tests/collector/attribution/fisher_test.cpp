#include "collector/attribution/fisher.h"

#include <gtest/gtest.h>

namespace jostle::collector {
namespace {

struct FisherCase {
  int a, b, c, d;
  double p;  // R: fisher.test(matrix(c(a, c, b, d), 2))$p.value
};

class FisherReference : public ::testing::TestWithParam<FisherCase> {};

TEST_P(FisherReference, MatchesR) {
  const FisherCase& k = GetParam();
  EXPECT_NEAR(FisherExactTwoSided(k.a, k.b, k.c, k.d), k.p, k.p * 1e-4 + 1e-12);
  // The test is symmetric in rows and in columns.
  EXPECT_NEAR(FisherExactTwoSided(k.c, k.d, k.a, k.b), k.p, k.p * 1e-4 + 1e-12);
  EXPECT_NEAR(FisherExactTwoSided(k.b, k.a, k.d, k.c), k.p, k.p * 1e-4 + 1e-12);
}

INSTANTIATE_TEST_SUITE_P(
    Table, FisherReference,
    ::testing::Values(FisherCase{3, 1, 1, 3, 0.4857143},       // tea tasting
                      FisherCase{1, 9, 11, 3, 0.002759456},    // dieting, Wikipedia
                      FisherCase{2, 15, 10, 3, 0.0005367241},  // R ?fisher.test Convictions
                      FisherCase{0, 5, 5, 0, 0.007936508}, FisherCase{2, 0, 0, 1, 1.0 / 3},
                      FisherCase{7, 2, 3, 8, 0.06977852}, FisherCase{3, 0, 0, 2, 0.1},
                      FisherCase{5, 5, 5, 5, 1.0}));

TEST(Fisher, EmptyMarginsGiveOne) {
  EXPECT_EQ(FisherExactTwoSided(0, 0, 3, 4), 1.0);
  EXPECT_EQ(FisherExactTwoSided(2, 0, 3, 0), 1.0);
  EXPECT_EQ(FisherExactTwoSided(0, 0, 0, 0), 1.0);
}

TEST(Fisher, LargeCountsStayFinite) {
  double p = FisherExactTwoSided(400, 100, 100, 400);
  EXPECT_GT(p, 0);
  EXPECT_LT(p, 1e-50);
}

}  // namespace
}  // namespace jostle::collector
