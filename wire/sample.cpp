#include "jostle/sample.h"

namespace jostle {

const char* ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kPod:
      return "pod";
    case Scope::kContainer:
      return "container";
    case Scope::kCgroup:
      return "cgroup";
  }
  return "cgroup";
}

}  // namespace jostle
