// The process's shared engines, by model-instance-id: elements with the same
// id share one engine, created by the first that asks and freed with the
// last stream (the registry holds it weakly). Whoever joins must ask for the
// same engine: the settings that made it (model, device, precision, batch
// size...) are compared, and a difference names both users and the setting.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "engine/shared_engine.h"

namespace gpen {

// The settings an engine is made from, as (name, value) text pairs, in a
// fixed order: what must agree among its users.
using EngineSettings = std::vector<std::pair<std::string, std::string>>;

// Why settings differ: "" when they agree. `ours_by`/`theirs_by` name whose
// they are.
std::string settings_mismatch(const EngineSettings& ours, const std::string& ours_by,
                              const EngineSettings& theirs, const std::string& theirs_by);

class EngineRegistry {
 public:
  using Create = std::function<std::shared_ptr<SharedEngine>()>;

  // The one registry of the process.
  static EngineRegistry& process();

  struct Acquired {
    std::shared_ptr<SharedEngine> engine;  // null: see `mismatch`, or `create` failed
    std::string mismatch;                  // why the settings do not agree, if they do not
    bool created = false;                  // whether `create` made it now
  };
  // The engine of `id`: the one alive, when `settings` agree with the ones
  // it was made with, else made now by `create` (null: nothing is kept).
  // `user` names the caller in mismatch reports. `create` runs under the
  // registry's lock: two users of one id never make two engines.
  Acquired acquire(const std::string& id, const EngineSettings& settings,
                   const std::string& user, const Create& create);

  // Whether an engine of `id` is alive (tests).
  bool alive(const std::string& id) const;

 private:
  struct Entry {
    std::weak_ptr<SharedEngine> engine;
    EngineSettings settings;
    std::string made_by;
  };
  mutable std::mutex lock_;
  std::map<std::string, Entry> entries_;
};

}  // namespace gpen
