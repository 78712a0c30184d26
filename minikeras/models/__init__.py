"""Models, as `keras.models` names them (and `K`, `Input`, `InputLayer`, which Keras 2.2's
`from keras.models import *` exported)."""
from minikeras import backend as K
from minikeras.layers import Input, InputLayer
from minikeras.models.functional import Functional
from minikeras.models.model import Model
from minikeras.models.sequential import Sequential
from minikeras.saving.json_format import model_from_json
from minikeras.saving.saving_api import load_model, save_model
