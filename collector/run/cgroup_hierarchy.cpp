#include "collector/run/cgroup_hierarchy.h"

#include <filesystem>
#include <sstream>

namespace jostle::collector {

namespace fs = std::filesystem;

std::string CgroupHierarchyDir(const std::string& root, const std::string& controllers) {
  if (controllers.empty()) {  // the v2 hierarchy
    if (fs::exists(root + "/cgroup.controllers")) return root;
    if (fs::exists(root + "/unified/cgroup.controllers")) return root + "/unified";
    return "";
  }
  std::stringstream list(controllers);
  std::string controller;
  bool wanted = false;
  while (std::getline(list, controller, ',')) {
    if (controller == "cpu" || controller == "cpuacct" || controller == "memory") wanted = true;
  }
  if (!wanted) return "";
  if (fs::is_directory(root + "/" + controllers)) return root + "/" + controllers;
  std::stringstream again(controllers);
  while (std::getline(again, controller, ',')) {
    if (fs::is_directory(root + "/" + controller)) return root + "/" + controller;
  }
  return "";
}

}  // namespace jostle::collector
