#include "gstgpenengine.h"

namespace {

// Per-stream properties (strength, denoise, sharpen, max-faces, messages,
// batch-timeout, the tracking ones) may differ; these may not.
constexpr const char* kEngineProperties[] = {
    "model",          "device",         "precision",           "face-mode",
    "batch-size",     "pipeline-depth", "detection-threads",   "detector",
    "detector-model", "detection-threshold", "detection-max-size",
    // The parser is the engine's, and a batch is restored or colorized whole.
    "paste-mask",     "parse-model",    "task",
};

std::string value_text(const GValue* value) {
  if (G_VALUE_HOLDS_STRING(value)) {
    const gchar* text = g_value_get_string(value);
    return text ? text : "";
  }
  if (G_VALUE_HOLDS_ENUM(value)) {
    GEnumClass* klass = G_ENUM_CLASS(g_type_class_ref(G_VALUE_TYPE(value)));
    const GEnumValue* named = g_enum_get_value(klass, g_value_get_enum(value));
    std::string text = named ? named->value_nick : std::to_string(g_value_get_enum(value));
    g_type_class_unref(klass);
    return text;
  }
  gchar* text = gst_value_serialize(value);
  std::string out = text ? text : "";
  g_free(text);
  return out;
}

}  // namespace

gpen::EngineSettings gpen_engine_settings(GObject* object) {
  gpen::EngineSettings settings;
  for (const char* name : kEngineProperties) {
    GParamSpec* pspec = g_object_class_find_property(G_OBJECT_GET_CLASS(object), name);
    if (!pspec) continue;
    GValue value = G_VALUE_INIT;
    g_value_init(&value, pspec->value_type);
    g_object_get_property(object, name, &value);
    settings.emplace_back(name, value_text(&value));
    g_value_unset(&value);
  }
  return settings;
}

std::shared_ptr<gpen::SharedEngine> gpen_acquire_engine(
    GstElement* element, const std::string& id,
    const std::function<std::shared_ptr<gpen::SharedEngine>()>& create) {
  gchar* name = gst_object_get_path_string(GST_OBJECT(element));
  const std::string user = name ? name : "?";
  g_free(name);
  auto acquired = gpen::EngineRegistry::process().acquire(
      id, gpen_engine_settings(G_OBJECT(element)), user, create);
  if (!acquired.mismatch.empty()) {
    GST_ELEMENT_ERROR(element, RESOURCE, SETTINGS,
                      ("Elements sharing model-instance-id '%s' must agree: %s", id.c_str(),
                       acquired.mismatch.c_str()),
                      ("the first of them loaded the model; set the same value, or another id"));
    return nullptr;
  }
  if (acquired.engine && !acquired.created)
    GST_INFO_OBJECT(element, "sharing the engine of model-instance-id '%s'", id.c_str());
  return acquired.engine;
}
