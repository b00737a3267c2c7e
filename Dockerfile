# Architecture Explorer image (CPU). Build: docker build -t explorer .   Run: docker run -p 8501:8501 explorer
# TORCH_INDEX selects another PyTorch wheel index (e.g. a CUDA build) for GPU workers.

FROM python:3.11-slim-bookworm AS build
ARG TORCH_INDEX=""
WORKDIR /src
COPY requirements.txt ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
 && if [ -n "$TORCH_INDEX" ]; then /opt/venv/bin/pip install --no-cache-dir --index-url "$TORCH_INDEX" torch==2.13.0; fi \
 && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt
COPY pyproject.toml ./
COPY explorer ./explorer
COPY db ./db
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps .

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    EXPLORER_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY app.py ./
COPY pages ./pages
COPY ui ./ui
COPY .streamlit ./.streamlit
VOLUME ["/data"]
EXPOSE 8501
# The app and one local worker; in compose the worker runs as its own service (`explorer worker`).
CMD ["explorer", "serve", "--address", "0.0.0.0"]
