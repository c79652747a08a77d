#include "gstgpenevents.h"

static gboolean src_pad_flushing(GstBaseTransform* trans) {
  GST_OBJECT_LOCK(trans->srcpad);
  const gboolean flushing = GST_PAD_IS_FLUSHING(trans->srcpad);
  GST_OBJECT_UNLOCK(trans->srcpad);
  return flushing;
}

static GstFlowReturn gpen_transform_sink_pad_event(GstPad* /*pad*/, GstObject* parent, GstEvent* event) {
  GstBaseTransform* trans = GST_BASE_TRANSFORM(parent);
  const GstEventType type = GST_EVENT_TYPE(event);
  // GstBaseTransform's class_init sets sink_event; both elements chain up to it.
  if (GST_BASE_TRANSFORM_GET_CLASS(trans)->sink_event(trans, event)) return GST_FLOW_OK;
  if (src_pad_flushing(trans)) return GST_FLOW_FLUSHING;
  // What the core makes of a failed event function.
  return type == GST_EVENT_CAPS ? GST_FLOW_NOT_NEGOTIATED : GST_FLOW_ERROR;
}

void gpen_transform_flush_unforwardable_events(GstBaseTransform* trans) {
  gst_pad_set_event_full_function(trans->sinkpad, GST_DEBUG_FUNCPTR(gpen_transform_sink_pad_event));
}
