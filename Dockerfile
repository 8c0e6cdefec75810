# anodex for clusters: the official dolfinx image (dolfinx 0.9.0, the
# version CI's Debian 13 leg tests) plus anodex.  The install step is
# tools/install-anodex.sh, the same script CI runs in every leg (through
# tools/setup.sh), so the file is tested by proxy.
#
#   docker build -t anodex:0.1.0 .
#   apptainer build anodex.sif docker-daemon://anodex:0.1.0
#   srun -n 64 apptainer exec anodex.sif anodex run case.toml -o runs/case
FROM ghcr.io/fenics/dolfinx/dolfinx:v0.9.0

WORKDIR /opt/anodex
COPY pyproject.toml README.md ./
COPY anodex ./anodex
COPY postprocess ./postprocess
COPY tools ./tools
COPY cases ./cases
COPY meshes ./meshes
COPY examples ./examples
RUN bash tools/install-anodex.sh python3

# The JIT cache inside the image is read-only under Apptainer: compile into
# a writable place (override with a node-local path on clusters).
ENV XDG_CACHE_HOME=/tmp/anodex-cache
# smoke check
RUN anodex info
ENTRYPOINT ["anodex"]
CMD ["info"]
