"""An uploaded model file: which format it is in, and loading it.

A file starting like a pickle (protocol 2+) or like joblib's compressed files is loaded with joblib,
which runs the code the pickle names: callers check the token first. Anything else must open in
ONNX Runtime (which runs no user code). A file that is neither, or a pickle of something without a
``predict`` method, is refused.
"""

from __future__ import annotations

import io

import joblib
import onnxruntime as ort

from runyard.maas.errors import RequestRefused
from runyard.maas.predictors import OnnxPredictor, Predictor, SklearnPredictor, onnx_session

_PICKLE_STARTS = (b"\x80", b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x04\x22\x4d\x18", b"ZF")


def _is_pickle(data: bytes) -> bool:
    """Whether ``data`` looks like a pickle or a (compressed) joblib file."""
    return data.startswith(_PICKLE_STARTS)


def load_model(data: bytes) -> Predictor:
    """The model in ``data`` (pickle, joblib or ONNX); :class:`RequestRefused` when it is none."""
    if _is_pickle(data):
        try:
            loaded = joblib.load(io.BytesIO(data))
        except Exception as error:  # whatever a broken or hostile pickle raises
            raise RequestRefused(f"model_file could not be unpickled: {type(error).__name__}") from None
        if not callable(getattr(loaded, "predict", None)):
            raise RequestRefused(f"model_file holds a {type(loaded).__name__}, which has no predict method")
        return SklearnPredictor(loaded)
    return OnnxPredictor(load_onnx(data))


def load_onnx(data: bytes) -> ort.InferenceSession:
    """An ONNX Runtime session on ``data``; :class:`RequestRefused` when it is not an ONNX model."""
    try:
        return onnx_session(data)
    except Exception:  # onnxruntime raises its own (unexported) error types
        raise RequestRefused("model_file is neither a pickle, a joblib file nor an ONNX model") from None
