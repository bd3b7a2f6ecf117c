"""Installs espnet2_ext; runtime pins live in requirements.txt (verified together)."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name: str) -> list:
    lines = (HERE / name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


setup(
    name="espnet2_ext",
    version="0.1.0",
    description=(
        "ESPnet2 extension: FBank + self-supervised feature fusion "
        "(HConv, multi-upstream fusion, gradient-sensitive gating)"
    ),
    long_description=(HERE / "README.md").read_text() if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(include=["espnet2_ext", "espnet2_ext.*"]),
    # The config presets and the default slurm.conf: read by the package at run
    # time (espnet2_ext.utils.package_data), so a non-editable install has them.
    package_data={"espnet2_ext": ["conf/*.md", "conf/*.conf", "conf/*/*.yaml"]},
    install_requires=read_requirements("requirements.txt"),
    extras_require={"dev": read_requirements("requirements-dev.txt")},
    entry_points={
        "console_scripts": [
            "espnet2-ext-python=espnet2_ext.bin.python_shim:main",
        ]
    },
)
