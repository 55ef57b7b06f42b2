#pragma once
// RR_TEST_MAIN(Class): like QTEST_GUILESS_MAIN, plus the engine's process settings, so tests
// measure and behave like the shipped binaries. RR_TEST_GUI_MAIN for widget tests.
#include "core/runtime.h"

#include <QCoreApplication>
#include <QtTest>

#define RR_TEST_MAIN(TestClass)                          \
  int main(int argc, char** argv) {                      \
    rr::runtime::initialiseProcess();                    \
    QCoreApplication app(argc, argv);                    \
    app.setAttribute(Qt::AA_Use96Dpi, true);             \
    TestClass tc;                                        \
    QTEST_SET_MAIN_SOURCE_PATH                           \
    return QTest::qExec(&tc, argc, argv);                \
  }

#define RR_TEST_GUI_MAIN(TestClass)                      \
  int main(int argc, char** argv) {                      \
    rr::runtime::initialiseProcess();                    \
    QApplication app(argc, argv);                        \
    app.setAttribute(Qt::AA_Use96Dpi, true);             \
    TestClass tc;                                        \
    QTEST_SET_MAIN_SOURCE_PATH                           \
    return QTest::qExec(&tc, argc, argv);                \
  }
