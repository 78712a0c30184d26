# Text to numbers, Keras 2 style: keras.preprocessing.text.Tokenizer and
# keras.preprocessing.sequence.pad_sequences, then a bag-of-words classifier on texts_to_matrix.
# Run it on minikeras with:  python -m minikeras examples/keras2/text_tokenizer.py
import numpy as np
from keras.preprocessing.text import Tokenizer
from keras.preprocessing.sequence import pad_sequences
from keras.models import Sequential
from keras.layers import Dense

texts = ['I love this movie!', 'What a great film, I loved it.', 'This film was terrible.',
         'I hate this movie', 'Great acting and a great story', 'Terrible, boring and bad']
labels = np.array([1, 1, 0, 0, 1, 0])

tokenizer = Tokenizer(num_words=12, oov_token='<OOV>')
tokenizer.fit_on_texts(texts)
print('documents:', tokenizer.document_count)
print('word_index:', tokenizer.word_index)
sequences = tokenizer.texts_to_sequences(texts)
print('sequences:', sequences)
print('padded:')
print(pad_sequences(sequences, maxlen=5))
print(pad_sequences(sequences, maxlen=5, padding='post', truncating='post', value=-1))

x = tokenizer.texts_to_matrix(texts, mode='binary')
print('matrix:', x.shape)
print(tokenizer.texts_to_matrix(['great great movie'], mode='count'))

model = Sequential()
model.add(Dense(8, activation='relu', input_shape=(x.shape[1],)))
model.add(Dense(1, activation='sigmoid'))
model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
history = model.fit(x, labels, epochs=200, verbose=0)
print('train acc:', history.history['acc'][-1])
