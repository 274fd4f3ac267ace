#include "collector/attribution/fisher.h"

#include <algorithm>
#include <cmath>

namespace jostle::collector {
namespace {

double LogChoose(int n, int k) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
}

}  // namespace

double FisherExactTwoSided(int a, int b, int c, int d) {
  if (a < 0 || b < 0 || c < 0 || d < 0) return 1.0;
  int row1 = a + b, row2 = c + d, col1 = a + c, n = a + b + c + d;
  if (row1 == 0 || row2 == 0 || col1 == 0 || col1 == n) return 1.0;
  int lo = std::max(0, col1 - row2), hi = std::min(row1, col1);
  double log_denominator = LogChoose(n, col1);
  auto log_p = [&](int x) {
    return LogChoose(row1, x) + LogChoose(row2, col1 - x) - log_denominator;
  };
  double observed = log_p(a);
  double p = 0;
  for (int x = lo; x <= hi; ++x) {
    double lp = log_p(x);
    if (lp <= observed + std::log1p(1e-7)) p += std::exp(lp);
  }
  return std::min(1.0, p);
}

}  // namespace jostle::collector
