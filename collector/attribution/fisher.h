// Fisher's exact test on a 2×2 table, two-sided, as R's fisher.test computes it: the sum of
// the hypergeometric probabilities of every table with the same margins that is no more
// likely than the observed one (relative tolerance 1e-7).
#pragma once

namespace jostle::collector {

//            failed  passed
// contended     a       b
// clear         c       d
// Counts must be >= 0. Returns 1 for a table with an empty margin.
double FisherExactTwoSided(int a, int b, int c, int d);

}  // namespace jostle::collector
