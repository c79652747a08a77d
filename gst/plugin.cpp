/* The gpen plugin: face restoration with GPEN on LibTorch. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstgpenenhance.h"

static gboolean plugin_init(GstPlugin* plugin) {
  return GST_ELEMENT_REGISTER(gpenenhance, plugin);
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, gpen,
                  "Face restoration with GPEN (GAN Prior Embedded Network) on LibTorch",
                  plugin_init, PACKAGE_VERSION, "MIT", PACKAGE_NAME, PACKAGE_ORIGIN)
