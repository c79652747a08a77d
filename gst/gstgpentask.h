/* gpenenhance's `task`: what the generator does to aligned faces (restore,
 * or colorize gray faces as the reference's face_colorization.py with a
 * GPEN-Colorization model). Installed from the element's id for it and
 * forwarded by its set/get_property with the object lock held. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_GPEN_TASK (gst_gpen_task_get_type())
GType gst_gpen_task_get_type(void);

typedef enum {
  GST_GPEN_TASK_RESTORE = 0,
  GST_GPEN_TASK_COLORIZE = 1,
} GstGpenTask;

G_END_DECLS

void gpen_task_install_property(GObjectClass* klass, guint id);
