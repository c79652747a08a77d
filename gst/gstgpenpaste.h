/* How gpenenhance pastes restored faces back in full mode: the paste-mask
 * and parse-model properties (installed from the element's first id for
 * them, forwarded by its set/get_property with the object lock held), and
 * the face parser they ask for. */
#pragma once

#include <gst/gst.h>

#include <memory>
#include <string>

#include <torch/types.h>

#include "parsing/face_parser.h"

G_BEGIN_DECLS

#define GST_TYPE_GPEN_PASTE_MASK (gst_gpen_paste_mask_get_type())
GType gst_gpen_paste_mask_get_type(void);

typedef enum {
  GST_GPEN_PASTE_MASK_AUTO = 0,
  GST_GPEN_PASTE_MASK_PARSE = 1,
  GST_GPEN_PASTE_MASK_RECTANGLE = 2,
} GstGpenPasteMask;

G_END_DECLS

struct GpenPasteSettings {
  GstGpenPasteMask mask = GST_GPEN_PASTE_MASK_AUTO;
  std::string parse_model;

  /* Whether faces go through face-parsing masks: parse, or auto with a
   * parse-model. */
  bool parses() const;
};

constexpr guint kGpenPastePropertyCount = 2;

/* Installs paste-mask and parse-model with ids first_id and first_id + 1. */
void gpen_paste_install_properties(GObjectClass* klass, guint first_id);
bool gpen_paste_set_property(GpenPasteSettings& settings, guint first_id, guint prop_id,
                             const GValue* value);
bool gpen_paste_get_property(const GpenPasteSettings& settings, guint first_id, guint prop_id,
                             GValue* value);

/* The face parser the settings ask for, on `device`, in `parser` (left null
 * for the rectangle mask). False after posting an element error: parse
 * without a parse-model, or a parse-model that is missing, unreadable or not
 * a ParseNet (the error names the file and the reason). */
bool gpen_create_face_parser(GstElement* element, const GpenPasteSettings& settings,
                             torch::Device device, std::unique_ptr<gpen::FaceParser>& parser);
