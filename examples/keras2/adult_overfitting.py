# Part 1, the UCI Adult census data (income > 50K), Keras 2 style: pandas, get_dummies, min-max scaling,
# `from keras.utils import *`, validation_split, and Dropout against the overfitting seen in
# history.history['acc'] (rising) versus history.history['val_acc'].
# Run it on minikeras with:  python -m minikeras examples/keras2/adult_overfitting.py [path/to/adult.data.gz]
import sys
import pandas as pd
import matplotlib.pyplot as plt
from keras.models import *
from keras.layers import *
from keras.utils import *

path = sys.argv[1] if len(sys.argv) > 1 else '../shared/data/adult/adult.data.gz'
names = ['age', 'workclass', 'fnlwgt', 'education', 'education-num', 'marital-status', 'occupation',
         'relationship', 'race', 'sex', 'capital-gain', 'capital-loss', 'hours-per-week', 'native-country',
         'income']
data = pd.read_csv(path, header=None, names=names, skipinitialspace=True, nrows=2000)

X = pd.get_dummies(data.drop('income', axis=1)).astype('float32')  # pandas 2 makes bool dummies
X = (X - X.min()) / (X.max() - X.min())  # min-max scaling, column by column
X = X.fillna(0)
Y = to_categorical(data['income'] == '>50K', 2)  # boolean labels, one-hot
print('features:', X.shape, 'labels:', Y.shape)


def build(dropout):
    model = Sequential()
    model.add(Dense(128, input_dim=X.shape[1], activation='relu'))
    if dropout:
        model.add(Dropout(0.5))
    model.add(Dense(32, activation='relu'))
    if dropout:
        model.add(Dropout(0.5))
    model.add(Dense(2, activation='softmax'))
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    return model


for dropout in (False, True):
    model = build(dropout)
    history = model.fit(x=X, y=Y, epochs=10, batch_size=100, validation_split=0.2, verbose=0)
    print('dropout' if dropout else 'no dropout',
          'acc %.3f -> %.3f' % (history.history['acc'][0], history.history['acc'][-1]),
          'val_acc %.3f -> %.3f' % (history.history['val_acc'][0], history.history['val_acc'][-1]))
    plt.plot(history.history['acc'], label='acc' + (' (dropout)' if dropout else ''))
    plt.plot(history.history['val_acc'], label='val_acc' + (' (dropout)' if dropout else ''))
plt.legend()
plt.show()
