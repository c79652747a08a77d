#!/usr/bin/env python3
"""Embedding gpenenhance in a Python application, through GObject
introspection: the application pushes its frames (RGB bytes) into appsrc and
takes the restored frames from appsink; the faces come in gpen-faces messages.
The same as gpen_embed.cpp.

    GST_PLUGIN_PATH=build/gst python3 examples/embed/gpen_embed.py MODEL INPUT OUTPUT [device]

Needs the Debian packages python3-gi, gir1.2-gstreamer-1.0 and
gir1.2-gst-plugins-base-1.0. With numpy frames (OpenCV, PIL), pass
frame.tobytes() to push() and numpy.frombuffer() what pull() returns.
"""
import sys
import warnings

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
from gi.repository import Gst, GstApp  # noqa: E402,F401  (GstApp: appsrc/appsink methods)


def row_stride(width):
    """GStreamer's default stride for RGB rows: a multiple of 4 bytes."""
    return (width * 3 + 3) & ~3


def pad_rows(rgb, width, height):
    """Packed RGB rows -> rows at GStreamer's stride."""
    stride, packed = row_stride(width), width * 3
    if stride == packed:
        return rgb
    pad = bytes(stride - packed)
    return b"".join(rgb[y * packed:(y + 1) * packed] + pad for y in range(height))


def unpad_rows(data, width, height):
    stride, packed = row_stride(width), width * 3
    if stride == packed:
        return bytes(data[:packed * height])
    return b"".join(bytes(data[y * stride:y * stride + packed]) for y in range(height))


def face_boxes(structure):
    """(x, y, width, height) of each face in a gpen-faces message. PyGObject
    cannot convert its GstValueArray with get_value; get_array gives a
    GValueArray, read while it is alive (its get_nth is deprecated, but is
    the way to read one)."""
    ok, array = structure.get_array("boxes")
    if not ok:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return [tuple(array.get_nth(i).get_value(k) for k in ("x", "y", "width", "height"))
                for i in range(array.n_values)]


class FaceRestorer:
    """appsrc ! gpenenhance ! appsink. Frames leave in the order they came,
    once their batch has run: push() several and pull() as many, or end() to
    drain the last partial batch. On a live source, set batch_timeout (ns) so
    that a frame never waits long for a full batch."""

    def __init__(self, model, device="auto", batch_timeout=0):
        self.pipeline = Gst.parse_launch(
            "appsrc name=src format=time ! gpenenhance name=gpen ! appsink name=sink")
        gpen = self.pipeline.get_by_name("gpen")
        gpen.set_property("model", model)
        gpen.set_property("device", device)
        gpen.set_property("batch-timeout", batch_timeout)
        self.src = self.pipeline.get_by_name("src")
        self.sink = self.pipeline.get_by_name("sink")
        self.bus = self.pipeline.get_bus()
        self.caps = None
        self.count = 0
        self._faces, self._errors = [], []
        # Loading the model happens here: a bad file is an error on the bus.
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            error = self.error()
            self.close()
            raise RuntimeError(error or "the pipeline did not start")

    def push(self, rgb, width, height):
        caps = Gst.Caps.from_string(
            f"video/x-raw,format=RGB,width={width},height={height},framerate=0/1")
        if self.caps is None or not caps.is_equal(self.caps):
            self.src.set_caps(caps)
            self.caps = caps
        buffer = Gst.Buffer.new_wrapped(pad_rows(rgb, width, height))
        buffer.offset = self.count  # reported back in gpen-faces' "offset"
        self.count += 1
        return self.src.push_buffer(buffer) == Gst.FlowReturn.OK

    def end(self):
        self.src.end_of_stream()

    def pull(self):
        """The next restored frame as (rgb bytes, width, height), or None at the end."""
        sample = self.sink.pull_sample()
        if sample is None:
            return None
        structure = sample.get_caps().get_structure(0)
        width, height = structure.get_value("width"), structure.get_value("height")
        buffer = sample.get_buffer()
        ok, info = buffer.map(Gst.MapFlags.READ)
        if not ok:
            return None
        try:
            return unpad_rows(info.data, width, height), width, height
        finally:
            buffer.unmap(info)

    def faces(self):
        """(frame offset, [(x, y, width, height), ...]) for each gpen-faces message so far."""
        self._read_bus()
        found, self._faces = self._faces, []
        return found

    def error(self):
        self._read_bus()
        return self._errors[0] if self._errors else None

    def _read_bus(self):
        # One pass over every message: popping by type would drop the others.
        while (message := self.bus.pop()) is not None:
            if message.type == Gst.MessageType.ERROR:
                self._errors.append(message.parse_error()[0].message)
            s = message.get_structure()
            if message.type == Gst.MessageType.ELEMENT and s and s.get_name() == "gpen-faces":
                self._faces.append((s.get_value("offset"), face_boxes(s)))

    def close(self):
        self.pipeline.set_state(Gst.State.NULL)


def read_rgb(path):
    """An image file as packed RGB (a stand-in for the application's own frames)."""
    pipeline = Gst.parse_launch(
        "filesrc name=src ! decodebin ! videoconvert ! appsink name=sink caps=video/x-raw,format=RGB")
    pipeline.get_by_name("src").set_property("location", path)
    pipeline.set_state(Gst.State.PAUSED)
    pipeline.get_state(Gst.CLOCK_TIME_NONE)
    sample = pipeline.get_by_name("sink").pull_preroll()
    pipeline.set_state(Gst.State.NULL)
    if sample is None:
        raise RuntimeError(f"cannot read {path}")
    structure = sample.get_caps().get_structure(0)
    width, height = structure.get_value("width"), structure.get_value("height")
    buffer = sample.get_buffer()
    ok, info = buffer.map(Gst.MapFlags.READ)
    rgb = unpad_rows(info.data, width, height)
    buffer.unmap(info)
    return rgb, width, height


def write_png(path, rgb, width, height):
    pipeline = Gst.parse_launch(
        "appsrc name=src format=time ! videoconvert ! pngenc ! filesink name=sink")
    pipeline.get_by_name("sink").set_property("location", path)
    src = pipeline.get_by_name("src")
    src.set_caps(Gst.Caps.from_string(
        f"video/x-raw,format=RGB,width={width},height={height},framerate=0/1"))
    pipeline.set_state(Gst.State.PLAYING)
    src.push_buffer(Gst.Buffer.new_wrapped(pad_rows(rgb, width, height)))
    src.end_of_stream()
    message = pipeline.get_bus().timed_pop_filtered(
        60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if message is None or message.type != Gst.MessageType.EOS:
        raise RuntimeError(f"cannot write {path}")


def main(argv):
    Gst.init(None)
    if len(argv) < 4:
        print(f"usage: {argv[0]} MODEL INPUT OUTPUT [device]", file=sys.stderr)
        return 2
    model, source, target = argv[1:4]
    device = argv[4] if len(argv) > 4 else "auto"
    try:
        rgb, width, height = read_rgb(source)
        restorer = FaceRestorer(model, device)
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        restorer.push(rgb, width, height)
        restorer.end()
        restored = restorer.pull()
        error = restorer.error()
        if restored is None or error:
            print(f"error: {error or 'no frame came out'}", file=sys.stderr)
            return 1
        for offset, boxes in restorer.faces():
            print(f"frame {offset}: {len(boxes)} face{'' if len(boxes) == 1 else 's'}")
            for x, y, w, h in boxes:
                print(f"  face at {x},{y}, {w}x{h}")
    finally:
        restorer.close()
    write_png(target, *restored)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
