"""The scratch-file store training reads its images from."""

from __future__ import annotations

import numpy as np
import pytest

from inspekt.errors import TrainingError
from inspekt.models.image_store import ImageStore


def test_rows_read_back_like_an_array_and_views_share_the_file() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 5, 4, 3), dtype=np.uint8)
    with ImageStore((5, 4, 3)) as store:
        for image in images:
            store.append(image)
        assert store.shape == (7, 5, 4, 3)
        np.testing.assert_array_equal(store[2], images[2])
        np.testing.assert_array_equal(store[1:4], images[1:4])
        np.testing.assert_array_equal(store[np.array([6, 0])], images[[6, 0]])
        held = np.array([False, True, False, False, True, False, False])
        rest = store.view(~held)
        assert len(rest) == 5
        np.testing.assert_array_equal(rest[np.array([0, 4])], images[~held][[0, 4]])
        np.testing.assert_array_equal(np.stack(list(store.view(held))), images[held])


def test_a_wrong_shape_or_a_view_is_not_appended() -> None:
    with ImageStore((2, 2)) as store:
        with pytest.raises(TrainingError, match="should be uint8"):
            store.append(np.zeros((2, 3), np.uint8))
        store.append(np.zeros((2, 2), np.uint8))
        with pytest.raises(TrainingError, match="view"):
            store.view(np.array([0])).append(np.zeros((2, 2), np.uint8))
