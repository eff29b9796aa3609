// Everything that needs vscode-languageclient and the protocol module at run time, loaded with a
// dynamic import once activation is over: evaluating the client library is most of the bundle's
// load time, and it is not needed to register commands, views and the status bar.
export {
  ExecuteCommandRequest,
  LSPErrorCodes,
  ResponseError,
  WorkDoneProgress,
} from 'vscode-languageclient/node';
export {
  Commands,
  EnvironmentInfoRequest,
  LogNotification,
  StatusNotification,
} from '../../server/src/protocol';
export { createLanguageClient } from './client';
