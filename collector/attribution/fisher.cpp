#include "collector/attribution/fisher.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace jostle::collector {
namespace {

double LogChoose(int n, int k) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
}

struct Table {
  int row1, row2, col1, lo, hi;
  double log_denominator;
  double LogP(int x) const {
    return LogChoose(row1, x) + LogChoose(row2, col1 - x) - log_denominator;
  }
};

// nullopt for a table with a negative count or an empty margin.
std::optional<Table> MakeTable(int a, int b, int c, int d) {
  if (a < 0 || b < 0 || c < 0 || d < 0) return std::nullopt;
  int row1 = a + b, row2 = c + d, col1 = a + c, n = a + b + c + d;
  if (row1 == 0 || row2 == 0 || col1 == 0 || col1 == n) return std::nullopt;
  return Table{row1, row2, col1, std::max(0, col1 - row2), std::min(row1, col1),
               LogChoose(n, col1)};
}

}  // namespace

double FisherExactGreater(int a, int b, int c, int d) {
  std::optional<Table> t = MakeTable(a, b, c, d);
  if (!t) return 1.0;
  double p = 0;
  for (int x = std::max(a, t->lo); x <= t->hi; ++x) p += std::exp(t->LogP(x));
  return std::min(1.0, p);
}

double FisherExactTwoSided(int a, int b, int c, int d) {
  std::optional<Table> t = MakeTable(a, b, c, d);
  if (!t) return 1.0;
  double observed = t->LogP(a);
  double p = 0;
  for (int x = t->lo; x <= t->hi; ++x) {
    double lp = t->LogP(x);
    if (lp <= observed + std::log1p(1e-7)) p += std::exp(lp);
  }
  return std::min(1.0, p);
}

}  // namespace jostle::collector
