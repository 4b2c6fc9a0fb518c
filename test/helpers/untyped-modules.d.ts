/** Test-only STOMP clients that ship no type declarations. */
declare module 'stompjs/lib/stomp.js' {
  const legacy: { Stomp: any };
  export default legacy;
}
declare module 'stompit' {
  const stompit: any;
  export default stompit;
}
