import { UnsupportedMediaTypeException } from '@nestjs/common';
import { requireJsonBody } from './json-body';

describe(requireJsonBody.name, () => {
  it.each([undefined, 'application/json', 'application/json; charset=utf-8', 'Application/JSON'])(
    'accepts %s',
    (contentType) => {
      expect(() => requireJsonBody(contentType)).not.toThrow();
    },
  );

  it.each(['application/x-www-form-urlencoded', 'text/plain; charset=utf-8'])('refuses %s with 415', (contentType) => {
    expect(() => requireJsonBody(contentType)).toThrow(
      new UnsupportedMediaTypeException(
        `unsupported Content-Type '${contentType.split(';')[0]}'; send the body as application/json`,
      ),
    );
  });
});
