# Architecture Explorer image: the web app, the CLI and the job worker.
#
# CPU (default):  docker build -t explorer .
# CUDA:           docker build -t explorer:cuda \
#                   --build-arg BASE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04 \
#                   --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .
# Run:            docker run -p 8501:8501 -v explorer-data:/data explorer
# See docs/deploy.md (compose with PostgreSQL and a GPU worker).
#
# BASE is used by every stage, so the venv built below runs on the very interpreter it was made with.
# A base without Python 3.11 gets it from apt (Ubuntu 22.04 has python3.11; the CUDA images are
# Ubuntu). TORCH_INDEX is the PyTorch wheel index torch is installed from: the CPU index by default
# (a small image); a CUDA index (cu126, cu128, ...) for GPU workers. The CUDA wheels bundle the CUDA
# runtime libraries, so the GPU driver is all that comes from the host, through the NVIDIA Container
# Toolkit (`docker run --gpus all`, or the device reservation in compose.yaml).
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS python
ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN if ! command -v python3.11 >/dev/null 2>&1; then \
      apt-get update \
      && apt-get install -y --no-install-recommends python3.11 python3.11-venv ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && python3.11 --version

FROM python AS build
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
WORKDIR /app
COPY requirements.txt ./
# torch first from TORCH_INDEX; requirements.txt pins torch==2.13.0, which the local build
# (2.13.0+cpu, 2.13.0+cu128) satisfies, so pip keeps it.
RUN python3.11 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/venv/bin/pip install --no-cache-dir --index-url "$TORCH_INDEX" torch==2.13.0 \
 && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt
COPY pyproject.toml ./
COPY explorer ./explorer
COPY db ./db
# Editable, so `explorer serve` finds app.py next to the package (it runs <repo>/app.py) and the
# runtime stage only needs the same /app tree.
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps -e . \
 && /opt/venv/bin/explorer --help >/dev/null

FROM python AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    EXPLORER_DATA_DIR=/data
RUN useradd --create-home explorer && mkdir -p /data && chown explorer:explorer /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --from=build /app /app
COPY app.py ./
COPY pages ./pages
COPY ui ./ui
COPY .streamlit ./.streamlit
# The benchmark warehouse, built from the shipped NAS-Bench-201 data now, so `docker run` serves a
# populated warehouse at once. It lives in the image, not in the /data volume; to add NDS files, set
# EXPLORER_WAREHOUSE=/data/warehouse.duckdb and run `explorer warehouse build --nds ...` (docs/deploy.md).
ENV EXPLORER_WAREHOUSE=/opt/explorer/warehouse.duckdb
RUN mkdir -p /opt/explorer \
 && explorer warehouse build --no-progress --db /opt/explorer/warehouse.duckdb \
 && explorer warehouse info --db /opt/explorer/warehouse.duckdb
USER explorer
VOLUME ["/data"]
EXPOSE 8501
# The app and one local worker; in compose.yaml the worker is its own service (`explorer worker`).
CMD ["explorer", "serve", "--address", "0.0.0.0", "--port", "8501"]
