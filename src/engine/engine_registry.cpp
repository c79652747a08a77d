#include "engine/engine_registry.h"

namespace gpen {

std::string settings_mismatch(const EngineSettings& ours, const std::string& ours_by,
                              const EngineSettings& theirs, const std::string& theirs_by) {
  const auto value = [](const EngineSettings& settings, const std::string& name) {
    for (const auto& [key, v] : settings)
      if (key == name) return v;
    return std::string("(unset)");
  };
  std::vector<std::string> names;
  for (const auto& entry : ours) names.push_back(entry.first);
  for (const auto& entry : theirs) names.push_back(entry.first);
  for (const auto& name : names) {
    const std::string a = value(ours, name), b = value(theirs, name);
    if (a != b)
      return name + " is \"" + a + "\" on " + ours_by + " but \"" + b + "\" on " + theirs_by;
  }
  return "";
}

EngineRegistry& EngineRegistry::process() {
  static EngineRegistry registry;
  return registry;
}

EngineRegistry::Acquired EngineRegistry::acquire(const std::string& id,
                                                 const EngineSettings& settings,
                                                 const std::string& user, const Create& create) {
  std::lock_guard<std::mutex> guard(lock_);
  Acquired acquired;
  const auto found = entries_.find(id);
  if (found != entries_.end()) {
    if (auto engine = found->second.engine.lock()) {
      acquired.mismatch =
          settings_mismatch(settings, user, found->second.settings, found->second.made_by);
      if (acquired.mismatch.empty()) acquired.engine = std::move(engine);
      return acquired;
    }
    entries_.erase(found);  // its last user left
  }
  acquired.engine = create();
  if (acquired.engine) {
    entries_[id] = Entry{acquired.engine, settings, user};
    acquired.created = true;
  }
  return acquired;
}

bool EngineRegistry::alive(const std::string& id) const {
  std::lock_guard<std::mutex> guard(lock_);
  const auto found = entries_.find(id);
  return found != entries_.end() && !found->second.engine.expired();
}

}  // namespace gpen
