// Reference encodings from Hugging Face's Rust tokenizers (npm @anush008/tokenizers, installed by
// `cd tools/hub-mirrors && npm install`).
// usage: node hf_encode_cases.js TOKENIZER.json < cases.jsonl > expected.jsonl
//   each input line {"text": ..., "pair": optional}; each output line adds "ids" and "type_ids".
const { Tokenizer } = require('../hub-mirrors/node_modules/@anush008/tokenizers');
const fs = require('fs');
(async () => {
  const tok = Tokenizer.fromFile(process.argv[2]);
  const lines = fs.readFileSync(0, 'utf8').split('\n').filter(l => l.length);
  for (const l of lines) {
    const c = JSON.parse(l);
    const enc = await tok.encode(c.text, c.pair === undefined ? null : c.pair, { addSpecialTokens: true });
    c.ids = enc.getIds();
    c.type_ids = enc.getTypeIds();
    console.log(JSON.stringify(c));
  }
})();
