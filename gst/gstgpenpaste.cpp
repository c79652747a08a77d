#include "gstgpenpaste.h"

#include "gstgpenload.h"

GType gst_gpen_paste_mask_get_type(void) {
  static gsize type = 0;
  static const GEnumValue values[] = {
      {GST_GPEN_PASTE_MASK_AUTO, "The face-parsing mask when parse-model is set, else the rectangle",
       "auto"},
      {GST_GPEN_PASTE_MASK_PARSE,
       "Each face through its face-parsing mask, as the reference (needs parse-model)", "parse"},
      {GST_GPEN_PASTE_MASK_RECTANGLE, "Every face through the feathered square of its crop",
       "rectangle"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstGpenPasteMask", values));
  return type;
}

bool GpenPasteSettings::parses() const {
  return mask == GST_GPEN_PASTE_MASK_PARSE ||
         (mask == GST_GPEN_PASTE_MASK_AUTO && !parse_model.empty());
}

void gpen_paste_install_properties(GObjectClass* klass, guint first_id) {
  const auto ready = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                              GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(klass, first_id,
      g_param_spec_enum("paste-mask", "Paste mask",
                        "face-mode=full: the mask restored faces are blended into the frame with",
                        GST_TYPE_GPEN_PASTE_MASK, GST_GPEN_PASTE_MASK_AUTO, ready));
  g_object_class_install_property(klass, first_id + 1,
      g_param_spec_string("parse-model", "Face-parsing model",
                          "Path of a ParseNet checkpoint (ParseNet-latest.pth) for paste-mask=parse",
                          nullptr, ready));
}

bool gpen_paste_set_property(GpenPasteSettings& settings, guint first_id, guint prop_id,
                             const GValue* value) {
  if (prop_id == first_id) {
    settings.mask = static_cast<GstGpenPasteMask>(g_value_get_enum(value));
  } else if (prop_id == first_id + 1) {
    const gchar* path = g_value_get_string(value);
    settings.parse_model = path ? path : "";
  } else {
    return false;
  }
  return true;
}

bool gpen_paste_get_property(const GpenPasteSettings& settings, guint first_id, guint prop_id,
                             GValue* value) {
  if (prop_id == first_id)
    g_value_set_enum(value, settings.mask);
  else if (prop_id == first_id + 1)
    g_value_set_string(value, settings.parse_model.c_str());
  else
    return false;
  return true;
}

bool gpen_create_face_parser(GstElement* element, const GpenPasteSettings& settings,
                             torch::Device device, std::unique_ptr<gpen::FaceParser>& parser) {
  parser.reset();
  if (!settings.parses()) return true;
  const std::string& path = settings.parse_model;
  if (path.empty()) {
    GST_ELEMENT_ERROR(element, RESOURCE, NOT_FOUND, ("No face-parsing model given"),
                      ("paste-mask=parse needs 'parse-model' set to a ParseNet .pth file "
                       "(ParseNet-latest.pth)"));
    return false;
  }
  if (!g_file_test(path.c_str(), G_FILE_TEST_EXISTS)) {
    gpen_post_load_error(element, "face-parsing model", path, "file not found");
    return false;
  }
  try {
    parser = std::make_unique<gpen::FaceParser>(path, device);
    GST_INFO_OBJECT(element, "pasting through face-parsing masks: %s (%s) on %s", path.c_str(),
                    parser->net().config().describe().c_str(), device.str().c_str());
    return true;
  } catch (const std::exception& e) {
    gpen_post_load_error(element, "face-parsing model", path, e.what());
    return false;
  }
}
