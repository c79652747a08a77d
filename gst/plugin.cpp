/* The gpen plugin: face restoration with GPEN on LibTorch. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstgpenenhance.h"
#include "gstgpenfacedetect.h"
#include "gstgpenfaces.h"

static gboolean plugin_init(GstPlugin* plugin) {
  gpen_faces_register_meta();
  gboolean ok = GST_ELEMENT_REGISTER(gpenenhance, plugin);
  ok = GST_ELEMENT_REGISTER(gpenfacedetect, plugin) && ok;
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, gpen,
                  "Face restoration with GPEN (GAN Prior Embedded Network) on LibTorch",
                  plugin_init, PACKAGE_VERSION, "MIT", PACKAGE_NAME, PACKAGE_ORIGIN)
