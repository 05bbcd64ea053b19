"""TFDS builder for the Kaggle "Brain MRI Images for Brain Tumor Detection" set.

253 axial brain MRI images from the web, sorted into `yes/` (tumor, 155) and
`no/` (98). The images are stored as their original JPEG/PNG bytes (no
re-encoding, so nothing is lost) and decode as RGB, since most of the files are
RGB JPEGs even though the scans are grey; `load_images(..., channels=1)` turns
them back into greyscale. Kaggle's terms do not allow an automatic download, so
the folder is placed by hand in `manual_dir`.

Example:

    tfds build brain_tumor_mri --imports=kerasynth.data.builders \\
        --manual_dir=/path/to/kaggle_download --data_dir=/path/to/tfds_data
"""

import tensorflow_datasets as tfds

CLASS_NAMES = ("no", "yes")
# Extensions whose bytes `tf.image.decode_image` reads as one frame.
IMAGE_EXTENSIONS = (".bmp", ".jpeg", ".jpg", ".png")

_CITATION = """@misc{chakrabarty2019brainmri,
  author = {Navoneel Chakrabarty},
  title = {Brain MRI Images for Brain Tumor Detection},
  year = {2019},
  howpublished = {Kaggle},
  url = {https://www.kaggle.com/datasets/navoneel/brain-mri-images-for-brain-tumor-detection}
}"""


class BrainTumorMri(tfds.core.GeneratorBasedBuilder):
    """Brain MRI Images for Brain Tumor Detection (Chakrabarty, Kaggle 2019)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release: original files, one train split."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Download the archive from
    https://www.kaggle.com/datasets/navoneel/brain-mri-images-for-brain-tumor-detection
    (a Kaggle account is needed), unzip it and place its `brain_tumor_dataset/`
    folder (with the sub-folders `yes/` and `no/`) in `manual_dir`, or make
    `manual_dir` the folder that holds `yes/` and `no/` directly.
    """

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "Axial brain MRI images labelled by the presence of a tumor (yes/no)."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(None, None, 3)),
                    "label": tfds.features.ClassLabel(names=list(CLASS_NAMES)),
                    "file_name": tfds.features.Text(),
                }
            ),
            supervised_keys=("image", "label"),
            homepage="https://www.kaggle.com/datasets/navoneel/brain-mri-images-for-brain-tumor-detection",
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual_dir = dl_manager.manual_dir
        root = manual_dir / "brain_tumor_dataset"
        if not root.exists():
            root = manual_dir
        missing = [name for name in CLASS_NAMES if not (root / name).is_dir()]
        if missing:
            raise FileNotFoundError(
                f"brain_tumor_mri: no {'/, '.join(missing)}/ folder in {root}. "
                f"{' '.join(self.MANUAL_DOWNLOAD_INSTRUCTIONS.split())}"
            )
        return {"train": self._generate_examples(root)}

    def _generate_examples(self, root):
        for name in CLASS_NAMES:
            for path in sorted((root / name).iterdir()):
                hidden = path.name.startswith(".")
                if hidden or path.suffix.lower() not in IMAGE_EXTENSIONS:
                    continue
                key = f"{name}/{path.name}"
                # A path makes TFDS store the file's bytes as they are.
                yield key, {"image": path, "label": name, "file_name": key}
