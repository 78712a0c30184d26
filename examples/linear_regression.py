# The course's Part 1 linear-regression snippet, unchanged, with the usual Keras imports.
# Run it on minikeras with:  python -m minikeras examples/linear_regression.py
import numpy as np
import matplotlib.pyplot as plt
from keras.models import Sequential
from keras.layers import Dense

x = np.linspace(1, 10, 1000) # 입력 생성
y = 2 * x + 1 # 출력 생성
# numpy를 사용하면 배열에 수식을 적용할 수 있다.

model = Sequential()
model.add(Dense(1, activation='linear', input_shape=(1,))) # Dense layer: hidden layer
model.summary() # for debugging
model.compile(loss='mse', optimizer='sgd')

model.fit(x, y, epochs=20) # training

pred_x = []
pred_x = np.append(pred_x, 12)
pred_x = np.append(pred_x, 14)

pred_y = model.predict(pred_x)
plt.plot(x, y)
plt.scatter(pred_x, pred_y)
plt.show()

print(model.get_weights())
