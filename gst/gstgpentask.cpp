#include "gstgpentask.h"

GType gst_gpen_task_get_type(void) {
  static gsize type = 0;
  static const GEnumValue values[] = {
      {GST_GPEN_TASK_RESTORE, "Restore faces (GPEN-BFR models)", "restore"},
      {GST_GPEN_TASK_COLORIZE,
       "face-mode=aligned: colorize gray faces (GPEN-Colorization models), the input's luma kept "
       "when its size is not the model's",
       "colorize"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstGpenTask", values));
  return type;
}

void gpen_task_install_property(GObjectClass* klass, guint id) {
  g_object_class_install_property(klass, id,
      g_param_spec_enum("task", "Task", "What the model does to the faces", GST_TYPE_GPEN_TASK,
                        GST_GPEN_TASK_RESTORE,
                        static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                 GST_PARAM_MUTABLE_READY)));
}
